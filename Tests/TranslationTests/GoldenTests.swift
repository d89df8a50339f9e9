import Foundation
import ProxyModels
import Testing

@testable import Translation

/// Golden files: `Golden/<case>.request.json` (a Claude request) → `<case>.upstream.json` (the
/// Amazon Q payload). Run with `Q2API_UPDATE_GOLDEN=1` to rewrite the expected files after an
/// intended change, then review the diff.
@Suite("Golden payloads")
struct GoldenTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static var cases: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".request.json") }.map { String($0.dropLast(".request.json".count)) }.sorted()
    }

    @Test("golden cases exist")
    func casesExist() {
        #expect(Self.cases.count >= 3)
    }

    @Test("each request becomes its golden payload", arguments: cases)
    func payload(name: String) throws {
        let request = try String(contentsOf: Self.directory.appendingPathComponent("\(name).request.json"), encoding: .utf8)
        let body = try plan(request).body.prettyString + "\n"
        let expectedURL = Self.directory.appendingPathComponent("\(name).upstream.json")
        if ProcessInfo.processInfo.environment["Q2API_UPDATE_GOLDEN"] == "1" {
            try body.write(to: expectedURL, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(body == expected, "payload for \(name) differs from \(expectedURL.lastPathComponent)")
    }
}
