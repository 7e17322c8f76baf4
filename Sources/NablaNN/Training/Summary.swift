import Foundation

extension Layer {
    /// Returns the layer table Keras prints: each sublayer's name and type, output shape and
    /// parameter count, then the totals, trainable and not.
    public func summary() -> String {
        let rows: [(String, String, Int)] = (children.isEmpty ? [self] : children).map { layer in
            let type = String(describing: Swift.type(of: layer))
            let shape =
                layer.outputShape.map { "[batch, " + $0.map(String.init).joined(separator: ", ") + "]" }
                ?? "(not built)"
            return ("\(layer.name) (\(type))", shape, layer.parameters().reduce(0) { $0 + $1.parameter.value.count })
        }
        let widths = (
            Swift.max(28, rows.map(\.0.count).max() ?? 0) + 2, Swift.max(20, rows.map(\.1.count).max() ?? 0) + 2
        )
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: Swift.max(n - s.count, 0)) }
        let rule = String(repeating: "─", count: widths.0 + widths.1 + 12)
        var lines = [
            "Model: \"\(name)\"", rule, pad("Layer (type)", widths.0) + pad("Output shape", widths.1) + "     Params",
            rule,
        ]
        for (label, shape, count) in rows {
            let number = Self.grouped(count)
            lines.append(
                pad(label, widths.0) + pad(shape, widths.1)
                    + String(repeating: " ", count: Swift.max(11 - number.count, 0)) + number)
        }
        let (trainable, frozen) = parameterCounts
        lines += [
            rule, "Total params: \(Self.grouped(trainable + frozen))", "Trainable params: \(Self.grouped(trainable))",
            "Non-trainable params: \(Self.grouped(frozen))",
        ]
        return lines.joined(separator: "\n")
    }

    static func grouped(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }
}
