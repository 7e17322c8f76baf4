import Foundation
import Nabla

/// A JSON value: what a layer's configuration is made of in a model file.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// A layer's configuration: the arguments that rebuild it, by Keras-style snake-case names.
///
/// The getters check what a file says before a layer is made from it: a missing key, a value of
/// the wrong kind or out of range is an error naming the layer and the key, never a crash.
public struct LayerConfig: Sendable, Equatable {
    /// The largest size (units, filters, kernel, stride…) a configuration may give.
    public static let maxSize = 1 << 24

    public var values: [String: JSONValue]
    /// The layer the configuration belongs to, for messages: `'conv2d' (Conv2D)`.
    var owner = "layer"

    public init(_ values: [String: JSONValue] = [:]) { self.values = values }

    public subscript(key: String) -> JSONValue? {
        get { values[key] }
        set { values[key] = newValue }
    }

    func error(_ key: String, _ problem: String) -> NablaError {
        NablaError(.corruptFile, "\(owner): '\(key)' \(problem)")
    }

    func value(_ key: String) throws -> JSONValue {
        guard let value = values[key] else { throw error(key, "is missing") }
        return value
    }

    /// Returns an integer in `range`.
    public func int(_ key: String, in range: ClosedRange<Int> = 1...maxSize) throws -> Int {
        guard case .number(let x) = try value(key), let n = Int(exactly: x), range.contains(n) else {
            throw error(
                key,
                "must be an integer in \(range.lowerBound)...\(range.upperBound), got \(String(describing: values[key] ?? .null).prefix(64))"
            )
        }
        return n
    }

    /// Returns a list of integers, each in `range` (`count` of them when given).
    public func ints(_ key: String, count: Int? = nil, in range: ClosedRange<Int> = 1...maxSize) throws -> [Int] {
        guard case .array(let items) = try value(key), count.map({ $0 == items.count }) ?? (items.count <= 16)
        else { throw error(key, "must be a list of \(count.map(String.init) ?? "at most 16") integers") }
        return try items.map { item in
            guard case .number(let x) = item, let n = Int(exactly: x), range.contains(n) else {
                throw error(key, "must hold integers in \(range.lowerBound)...\(range.upperBound), got \(item)")
            }
            return n
        }
    }

    /// Returns a finite number in `range`.
    public func float(_ key: String, in range: ClosedRange<Float> = -1e30...1e30) throws -> Float {
        guard case .number(let x) = try value(key), x.isFinite, range.contains(Float(x)) else {
            throw error(key, "must be a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return Float(x)
    }

    public func bool(_ key: String) throws -> Bool {
        guard case .bool(let b) = try value(key) else { throw error(key, "must be true or false") }
        return b
    }

    public func string(_ key: String) throws -> String {
        guard case .string(let s) = try value(key) else { throw error(key, "must be a string") }
        return s
    }

    /// Returns a `[height, width]` pair.
    public func size2D(_ key: String, in range: ClosedRange<Int> = 1...maxSize) throws -> Size2D {
        let pair = try ints(key, count: 2, in: range)
        return Size2D(pair[0], pair[1])
    }

    public func activation(_ key: String = "activation") throws -> Activation {
        let text = try string(key)
        guard let activation = Activation(name: text) else { throw error(key, "names no activation: '\(text)'") }
        return activation
    }

    public func initializer(_ key: String) throws -> Initializer {
        let text = try string(key)
        guard let initializer = Initializer(name: text) else { throw error(key, "names no initializer: '\(text)'") }
        return initializer
    }

    /// Returns `valid`, `same` or explicit `[top, bottom, left, right]` padding.
    public func padding(_ key: String = "padding") throws -> Padding {
        switch try value(key) {
        case .string("valid"): return .valid
        case .string("same"): return .same
        case .array:
            let p = try ints(key, count: 4, in: 0...Self.maxSize)
            return .explicit(top: p[0], bottom: p[1], left: p[2], right: p[3])
        default: throw error(key, "must be 'valid', 'same' or [top, bottom, left, right]")
        }
    }

    public func fill(_ key: String = "fill") throws -> FillMode {
        switch try value(key) {
        case .string("nearest"): return .nearest
        case .string("reflect"): return .reflect
        case .number: return .constant(try float(key))
        default: throw error(key, "must be 'nearest', 'reflect' or a number")
        }
    }
}

extension JSONValue {
    init(_ value: Int) { self = .number(Double(value)) }
    init(_ value: Float) { self = .number(Double(value)) }
    init(_ values: [Int]) { self = .array(values.map { .number(Double($0)) }) }
    init(_ size: Size2D) { self.init([size.height, size.width]) }

    init(_ padding: Padding) {
        switch padding {
        case .valid: self = .string("valid")
        case .same: self = .string("same")
        case .explicit(let t, let b, let l, let r): self.init([t, b, l, r])
        }
    }

    init(_ fill: FillMode) {
        switch fill {
        case .nearest: self = .string("nearest")
        case .reflect: self = .string("reflect")
        case .constant(let value): self.init(value)
        }
    }
}

/// A layer that can be written into a model file and rebuilt from it with no code:
/// Keras's `get_config` / `from_config`.
///
/// Every built-in layer conforms. A custom layer conforms and is registered once with
/// ``LayerRegistry/register(_:)`` before a file that holds it is loaded. A layer whose sublayers
/// come from its own configuration (a custom block that makes its convolutions in `init`) rebuilds
/// them in ``make(_:children:)``; a container whose sublayers are arguments (``Sequential``,
/// ``Residual``) sets ``savesChildren`` and gets them rebuilt as `children`.
public protocol SerializableLayer: Layer {
    /// The name of the type in files (default: the Swift type's name).
    static var typeName: String { get }
    /// Whether the file lists the sublayers (default false).
    static var savesChildren: Bool { get }
    /// The arguments that rebuild the layer (not its name, trainability or sublayers).
    var config: LayerConfig { get }
    /// Makes the layer from its configuration and, for containers, its rebuilt sublayers.
    ///
    /// - Throws: `NablaError` for a configuration that does not describe a valid layer.
    static func make(_ config: LayerConfig, children: [Layer]) throws -> Layer
}

extension SerializableLayer {
    public static var typeName: String { String(describing: self) }
    public static var savesChildren: Bool { false }
    public var config: LayerConfig { LayerConfig() }
}

/// The layer types a model file may name, built in and registered.
public enum LayerRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var types: [String: any SerializableLayer.Type] = Dictionary(
        uniqueKeysWithValues: builtIn.map { ($0.typeName, $0) })

    static let builtIn: [any SerializableLayer.Type] = [
        Sequential.self, Residual.self, Dense.self, Conv2D.self, DepthwiseConv2D.self, MaxPool2D.self,
        AvgPool2D.self, GlobalAveragePooling2D.self, Flatten.self, Reshape.self, ZeroPadding2D.self,
        ActivationLayer.self, Rescaling.self, Dropout.self, BatchNormalization.self, RandomFlip.self,
        RandomCrop.self, RandomZoom.self, RandomTranslation.self, RandomShear.self, Add.self, Concatenate.self,
        InputLayer.self, Normalization.self,
    ]

    /// Registers a custom layer type under its ``SerializableLayer/typeName`` (again: replaces it).
    public static func register(_ type: any SerializableLayer.Type) {
        lock.withLock { types[type.typeName] = type }
    }

    /// Returns the type registered as `name`.
    static func type(named name: String) -> (any SerializableLayer.Type)? { lock.withLock { types[name] } }
}
