import Testing

@testable import Translation

@Suite("Token estimates")
struct TokenEstimatorTests {
    @Test("English is about four characters a token, CJK one a character")
    func text() {
        #expect(TokenEstimator.tokens(in: String(repeating: "abcd", count: 100)) == 100)
        #expect(TokenEstimator.tokens(in: "你好世界") == 4)
        #expect(TokenEstimator.tokens(in: "") == 0)
    }

    @Test("a PNG is priced from its pixel size")
    func image() {
        // 1x1 PNG
        let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
        #expect(TokenEstimator.tokens(for: .init(format: "png", base64: png)) == 1)
        #expect(TokenEstimator.tokens(for: .init(format: "png", base64: "AAAA")) == 1600)
    }
}
