/// A height and width, written as one integer (`3` means 3×3) or a pair (`[3, 5]`).
public struct Size2D: Sendable, Equatable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
    CustomStringConvertible
{
    public var height: Int
    public var width: Int

    public init(_ height: Int, _ width: Int) {
        self.height = height
        self.width = width
    }

    public init(integerLiteral value: Int) { self.init(value, value) }

    public init(arrayLiteral elements: Int...) {
        require(elements.count == 2, "Size2D: expected [height, width], got \(elements)")
        self.init(elements[0], elements[1])
    }

    /// The size as the `(height, width)` pair the window ops take.
    public var pair: (Int, Int) { (height, width) }
    public var description: String { "(\(height), \(width))" }
}
