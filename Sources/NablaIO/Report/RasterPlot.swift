import Foundation
import Nabla
import NablaData

/// A line plot drawn into pixels, written as PNG: a picture that needs no browser.
///
/// Axes with tick labels, curves, and labelled vertical marks. Text uses a built-in 5×7 pixel
/// font of digits, some lowercase letters and `-.:()`; other characters are left blank.
public struct RasterPlot {
    /// One curve: a value for each x (NaN or infinite values leave a gap), drawn in `color`.
    public struct Series {
        public var values: [Double]
        public var color: (UInt8, UInt8, UInt8)
        public init(_ values: [Double], color: (UInt8, UInt8, UInt8)) { (self.values, self.color) = (values, color) }
    }

    public var width = 720, height = 420
    public var title: String, xLabel: String, yLabel: String
    /// The x of every point; with `logX`, positive and drawn on a log10 scale.
    public var x: [Double]
    public var logX: Bool
    public var series: [Series]
    /// Vertical lines at an x, labelled.
    public var marks: [(x: Double, label: String)] = []
    /// The y range shown, values outside it clipped; nil for the series' finite range.
    public var yRange: ClosedRange<Double>?

    public init(title: String, xLabel: String, yLabel: String, x: [Double], logX: Bool, series: [Series]) {
        (self.title, self.xLabel, self.yLabel, self.x, self.logX, self.series) =
            (title, xLabel, yLabel, x, logX, series)
    }

    /// The plot as PNG bytes.
    public func png() throws -> Data { try ImageCodec.encodePNG(render()) }

    /// The plot as a `[height, width, 3]` uint8 image.
    public func render() -> Tensor {
        var canvas = Canvas(width: width, height: height)
        let (left, right, top, bottom) = (70, width - 20, 40, height - 50)
        let xs = x.map { logX ? log10(max($0, .leastNormalMagnitude)) : $0 }
        let finiteX = xs.filter(\.isFinite)
        let (x0, x1) = (finiteX.min() ?? 0, max((finiteX.max() ?? 1), (finiteX.min() ?? 0) + 1e-9))
        let finiteY = series.flatMap(\.values).filter(\.isFinite)
        let range = yRange ?? ((finiteY.min() ?? 0)...max(finiteY.max() ?? 1, (finiteY.min() ?? 0) + 1e-9))
        let px = { (v: Double) in Double(left) + (v - x0) / (x1 - x0) * Double(right - left) }
        let py = { (v: Double) in
            Double(bottom) - (min(max(v, range.lowerBound), range.upperBound) - range.lowerBound)
                / (range.upperBound - range.lowerBound) * Double(bottom - top)
        }
        let grey: (UInt8, UInt8, UInt8) = (210, 210, 210), ink: (UInt8, UInt8, UInt8) = (40, 40, 40)
        // Ticks: whole powers of ten on a log axis, five even steps otherwise.
        let xTicks: [Double]
        if logX {
            let first = Int(x0.rounded(.up))
            xTicks = (first...max(first, Int(x1.rounded(.down)))).map { Double($0) }
        } else {
            xTicks = (0...4).map { x0 + (x1 - x0) * Double($0) / 4 }
        }
        for t in xTicks where t >= x0 - 1e-9 && t <= x1 + 1e-9 {
            let p = Int(px(t).rounded())
            canvas.line(p, top, p, bottom, grey)
            let label = logX ? (t == 0 ? "1" : "1e\(Int(t))") : Self.format(t)
            canvas.text(label, x: p - label.count * 6, y: bottom + 8, ink)
        }
        for i in 0...4 {
            let v = range.lowerBound + (range.upperBound - range.lowerBound) * Double(i) / 4
            let p = Int(py(v).rounded())
            canvas.line(left, p, right, p, grey)
            let label = Self.format(v)
            canvas.text(label, x: left - 8 - label.count * 12, y: p - 7, ink)
        }
        canvas.line(left, bottom, right, bottom, ink)
        canvas.line(left, top, left, bottom, ink)
        for s in series {
            var previous: (Int, Int)?
            for (xv, yv) in zip(xs, s.values) {
                guard xv.isFinite, yv.isFinite else {
                    previous = nil
                    continue
                }
                let point = (Int(px(xv).rounded()), Int(py(yv).rounded()))
                if let previous { canvas.line(previous.0, previous.1, point.0, point.1, s.color, thick: true) }
                previous = point
            }
        }
        for mark in marks {
            let v = logX ? log10(mark.x) : mark.x
            guard v.isFinite, v >= x0, v <= x1 else { continue }
            let p = Int(px(v).rounded())
            canvas.line(p, top, p, bottom, (200, 40, 40), thick: true)
            canvas.text(mark.label, x: min(p + 6, right - mark.label.count * 12), y: top + 4, (200, 40, 40))
        }
        canvas.text(title, x: left, y: 12, ink)
        canvas.text(xLabel, x: (left + right) / 2 - xLabel.count * 6, y: bottom + 28, ink)
        canvas.text(yLabel, x: 4, y: top - 22, ink)
        return Tensor(canvas.pixels, shape: [height, width, 3])
    }

    /// A tick label: two decimals, or scientific notation below 0.001.
    static func format(_ v: Double) -> String {
        abs(v) >= 1e-3 || v == 0 ? String(format: "%.2f", v) : String(format: "%.1e", v)
    }
}

/// RGB pixels on white, with lines and 2× scaled 5×7 text.
private struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int) {
        (self.width, self.height) = (width, height)
        pixels = [UInt8](repeating: 255, count: width * height * 3)
    }

    mutating func set(_ x: Int, _ y: Int, _ color: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        (pixels[i], pixels[i + 1], pixels[i + 2]) = color
    }

    /// A straight line (Bresenham), two pixels wide when `thick`.
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: (UInt8, UInt8, UInt8), thick: Bool = false)
    {
        let (dx, dy) = (abs(x1 - x0), -abs(y1 - y0))
        let (sx, sy) = (x0 < x1 ? 1 : -1, y0 < y1 ? 1 : -1)
        var (x, y, error) = (x0, y0, dx + dy)
        while true {
            set(x, y, color)
            if thick {
                set(x + 1, y, color)
                set(x, y + 1, color)
            }
            if x == x1 && y == y1 { break }
            let e2 = 2 * error
            if e2 >= dy { (error, x) = (error + dy, x + sx) }
            if e2 <= dx { (error, y) = (error + dx, y + sy) }
        }
    }

    /// Text with its top-left corner at (x, y), each glyph 10×14 pixels on a 12-pixel advance.
    mutating func text(_ string: String, x: Int, y: Int, _ color: (UInt8, UInt8, UInt8)) {
        for (n, character) in string.enumerated() {
            guard let rows = glyphs[character] else { continue }
            for (r, bits) in rows.enumerated() {
                for c in 0..<5 where bits & (0b10000 >> c) != 0 {
                    for (ox, oy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        set(x + n * 12 + c * 2 + ox, y + r * 2 + oy, color)
                    }
                }
            }
        }
    }
}

/// Seven rows of five pixels each, the high bit on the left.
private let glyphs: [Character: [UInt8]] = [
    "0": [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
    "1": [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
    "2": [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
    "3": [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
    "4": [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
    "5": [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
    "6": [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
    "7": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
    "8": [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
    "9": [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
    "a": [0b00000, 0b00000, 0b01110, 0b00001, 0b01111, 0b10001, 0b01111],
    "c": [0b00000, 0b00000, 0b01110, 0b10000, 0b10000, 0b10001, 0b01110],
    "d": [0b00001, 0b00001, 0b01101, 0b10011, 0b10001, 0b10001, 0b01111],
    "e": [0b00000, 0b00000, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110],
    "f": [0b00110, 0b01001, 0b01000, 0b11100, 0b01000, 0b01000, 0b01000],
    "g": [0b00000, 0b00000, 0b01111, 0b10001, 0b01111, 0b00001, 0b01110],
    "h": [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001],
    "i": [0b00100, 0b00000, 0b01100, 0b00100, 0b00100, 0b00100, 0b01110],
    "k": [0b10000, 0b10000, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010],
    "l": [0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
    "m": [0b00000, 0b00000, 0b11010, 0b10101, 0b10101, 0b10001, 0b10001],
    "n": [0b00000, 0b00000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001],
    "o": [0b00000, 0b00000, 0b01110, 0b10001, 0b10001, 0b10001, 0b01110],
    "p": [0b00000, 0b00000, 0b11110, 0b10001, 0b11110, 0b10000, 0b10000],
    "r": [0b00000, 0b00000, 0b10110, 0b11001, 0b10000, 0b10000, 0b10000],
    "s": [0b00000, 0b00000, 0b01110, 0b10000, 0b01110, 0b00001, 0b11110],
    "t": [0b01000, 0b01000, 0b11100, 0b01000, 0b01000, 0b01001, 0b00110],
    "u": [0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b10011, 0b01101],
    "w": [0b00000, 0b00000, 0b10001, 0b10001, 0b10101, 0b10101, 0b01010],
    "y": [0b00000, 0b00000, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110],
    "-": [0b00000, 0b00000, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000],
    ".": [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b01100],
    ":": [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00000],
    "(": [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010],
    ")": [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000],
]
