import Nabla

/// A residual block: `activation(main(x) + shortcut(x))`, the shortcut the identity when not given
/// (He et al., https://arxiv.org/abs/1512.03385).
///
/// Both branches are layers (usually ``Sequential``), saved with the block, so a branching network
/// such as a ResNet is a stack of these and rebuilds from its model file with no code.
public final class Residual: Layer, @unchecked Sendable {
    public let main: Layer
    public let shortcut: Layer?
    public let activation: Activation

    public init(_ main: Layer, shortcut: Layer? = nil, activation: Activation = .linear, name: String? = nil) {
        (self.main, self.shortcut, self.activation) = (main, shortcut, activation)
        super.init(name: name)
        main.name = "main"
        addChild(main)
        if let shortcut {
            shortcut.name = "shortcut"
            addChild(shortcut)
        }
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        let out = try main.buildChecked(inputShape: inputShape)
        let other = try shortcut?.buildChecked(inputShape: inputShape) ?? inputShape
        try check(out == other, "\(name): the branches give [batch, \(out)] and [batch, \(other)], which do not add")
        return out
    }

    public override func forward(_ input: Tensor) -> Tensor {
        activation(main.forward(input) + (shortcut?.forward(input) ?? input))
    }
}

extension Residual: SerializableLayer {
    public static var savesChildren: Bool { true }
    public var config: LayerConfig { LayerConfig(["activation": .string(activation.description)]) }
    public static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer {
        guard (1...2).contains(children.count) else {
            throw NablaError(
                .corruptFile, "\(config.owner): a residual block has 1 or 2 branches, not \(children.count)")
        }
        return Residual(
            children[0], shortcut: children.count > 1 ? children[1] : nil, activation: try config.activation())
    }
}
