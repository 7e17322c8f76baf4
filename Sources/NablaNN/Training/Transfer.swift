import Nabla

// Transfer learning as Keras users do it: take a trained network, keep its layers up to a named
// one as a frozen base, put a new head on top, train the head, then unfreeze the top of the base
// and fine-tune at a lower learning rate.

extension Sequential {
    /// Returns the index of the top-level layer called `name`.
    ///
    /// - Throws: `NablaError` (`.invalidArgument`) listing the layer names when there is none.
    public func indexOfLayer(named name: String) throws -> Int {
        guard let index = layers.firstIndex(where: { $0.name == name }) else {
            throw NablaError(
                .invalidArgument,
                "\(self.name) has no layer '\(name)'; its layers are \(layers.map(\.name).joined(separator: ", "))")
        }
        return index
    }

    /// Returns a new model of this model's layers up to and including `layer`, frozen (their batch
    /// normalisation kept in inference mode) unless `freezing` is off, followed by `head`: the
    /// layers share their weights with this model.
    ///
    /// With no head given, the new head is `Flatten` (for image features) and a softmax `Dense`
    /// of `classes` units named `head`.
    ///
    /// - Throws: `NablaError` when there is no such layer or the head does not fit the base.
    public func transferred(
        through layer: String, classes: Int, head: [Layer]? = nil, freezing: Bool = true, name: String? = nil
    ) throws -> Sequential {
        let cut = try indexOfLayer(named: layer)
        let base = Array(layers[...cut])
        let features = base.last?.outputShape ?? []
        let newHead =
            head ?? (features.count > 1 ? [Flatten(name: "head_flatten")] : [])
            + [Dense(units: classes, activation: .softmax, name: "head")]
        if freezing { for layer in base { layer.isTrainable = false } }
        let model = Sequential(name: name ?? "\(self.name)_transfer") { base + newHead }
        if let inputShape { try model.buildChecked(inputShape: inputShape) }
        model.inputSpec = inputSpec
        model.preprocessing = preprocessing
        return model
    }

    /// Makes the top-level layers from `layer` on trainable (and every layer below it frozen),
    /// for fine-tuning.
    ///
    /// - Throws: `NablaError` when there is no such layer.
    public func unfreeze(from layer: String) throws {
        let start = try indexOfLayer(named: layer)
        for (index, child) in layers.enumerated() { child.isTrainable = index >= start }
    }
}
