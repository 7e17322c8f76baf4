import Foundation

/// One row of a model's summary: a sublayer's name, type, output shape and parameter count.
public struct LayerSummary: Sendable, Equatable, Encodable {
    public var name: String
    /// The layer's Swift type, as Keras prints its class.
    public var type: String
    /// The output shape without the batch dimension; nil before the layer is built.
    public var outputShape: [Int]?
    /// Its parameters, trainable or not.
    public var parameters: Int

    enum CodingKeys: String, CodingKey {
        case name, type, parameters
        case outputShape = "output_shape"
    }
}

extension Layer {
    /// The rows of ``summary()``: each sublayer (or the layer itself when it has none).
    public var layerSummaries: [LayerSummary] {
        (children.isEmpty ? [self] : children).map { layer in
            LayerSummary(
                name: layer.name, type: String(describing: Swift.type(of: layer)), outputShape: layer.outputShape,
                parameters: layer.parameters().reduce(0) { $0 + $1.parameter.value.count })
        }
    }

    /// Returns the layer table Keras prints: each sublayer's name and type, output shape and
    /// parameter count, then the totals, trainable and not.
    public func summary() -> String {
        let rows: [(String, String, Int)] = layerSummaries.map { row in
            let shape =
                row.outputShape.map { "[batch, " + $0.map(String.init).joined(separator: ", ") + "]" } ?? "(not built)"
            return ("\(row.name) (\(row.type))", shape, row.parameters)
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
