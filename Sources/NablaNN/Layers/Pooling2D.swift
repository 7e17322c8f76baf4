import Nabla

/// A pooling window slid over NHWC images; the subclasses choose the reduction.
public class Pooling2D: Layer, @unchecked Sendable {
    public let poolSize: Size2D
    public let strides: Size2D?
    public let padding: Padding

    init(poolSize: Size2D, strides: Size2D?, padding: Padding, name: String?) {
        self.poolSize = poolSize
        self.strides = strides
        self.padding = padding
        super.init(name: name)
    }

    public override func build(inputShape: [Int]) throws -> [Int] {
        try check(
            inputShape.count == 3, "\(name): expected NHWC input [batch, H, W, C], got per-example shape \(inputShape)")
        let (oh, ow) = try windowOutputSize(
            height: inputShape[0], width: inputShape[1], window: poolSize.pair, strides: (strides ?? poolSize).pair,
            padding: padding, op: name)
        return [oh, ow, inputShape[2]]
    }

    var poolingConfig: LayerConfig {
        var config = LayerConfig(["pool_size": JSONValue(poolSize), "padding": JSONValue(padding)])
        config["strides"] = strides.map { JSONValue($0) } ?? .null
        return config
    }

    static func poolingArguments(_ config: LayerConfig) throws -> (Size2D, Size2D?, Padding) {
        let strides = config["strides"] == .null ? nil : try config.size2D("strides")
        return (try config.size2D("pool_size"), strides, try config.padding())
    }
}
