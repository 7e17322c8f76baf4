import Foundation
import NablaTestSupport
import Testing

/// `docs/claims.md` pairs each functional claim of the README with the test that checks it: every
/// test it names exists, as a `@Test` function of that suite somewhere under `Tests/`.
@Suite struct ClaimsTests {
    /// The `Suite.test` names in the table's last column.
    static func namedTests() throws -> [(suite: String, test: String)] {
        let table = try String(contentsOfFile: packageRoot() + "/docs/claims.md", encoding: .utf8)
        return table.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| claim") }.compactMap {
            line in
            guard let cell = line.split(separator: "|").last?.trimmingCharacters(in: .whitespaces),
                cell.hasPrefix("`"), cell.hasSuffix("`")
            else { return nil }
            let parts = cell.dropFirst().dropLast().split(separator: ".")
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }
    }

    @Test func everyClaimNamesATestThatExists() throws {
        let named = try Self.namedTests()
        #expect(named.count >= 45, "the table lists \(named.count) tests")
        // Every Swift file under Tests/, by the suites it declares.
        let root = packageRoot() + "/Tests"
        var sources: [String] = []
        let files = FileManager.default.enumerator(atPath: root)?.allObjects.compactMap { $0 as? String } ?? []
        for file in files where file.hasSuffix(".swift") {
            sources.append(try String(contentsOfFile: root + "/" + file, encoding: .utf8))
        }
        #expect(sources.count > 50, "found \(sources.count) test files under \(root)")
        for (suite, test) in named {
            let declaring = sources.filter { $0.contains("struct \(suite) ") || $0.contains("struct \(suite) {") }
            #expect(!declaring.isEmpty, "docs/claims.md names \(suite), which no test file declares")
            let found = declaring.contains { text in
                // The function follows the suite's declaration in the same file (extensions included).
                guard let start = text.range(of: "struct \(suite)") else { return false }
                let rest = text[start.lowerBound...]
                return rest.contains("func \(test)(")
                    || text.contains("extension \(suite)") && text.contains("func \(test)(")
            }
            #expect(found, "docs/claims.md names \(suite).\(test), which does not exist")
        }
    }
}
