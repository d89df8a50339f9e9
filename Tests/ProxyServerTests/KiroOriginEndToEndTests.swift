import Foundation
import ProxyConfig
import ProxyModels
import ProxyServer
import QSimulator
import Testing
import Translation

/// The values an account's kind fills into the one request template, seen by the simulator: the `origin` of every
/// user message, and the Kiro version of a Kiro refresh's user agent.
@Suite("Per-kind request values end to end")
struct KiroOriginEndToEndTests {
    /// Two turns of history and a current message.
    static let conversation = #"""
        {"model":"claude-sonnet-4-5-20250929","max_tokens":64,"system":"Be brief.","messages":[
          {"role":"user","content":"Hi"},{"role":"assistant","content":"Hello."},{"role":"user","content":"[[sim:text:fine]]"}]}
        """#

    /// The `origin` of each user message the simulator last accepted, history first.
    private static func origins(_ harness: ProxyHarness) -> [String?] {
        let body = harness.simulator.lastRequestBody
        let history = body?["conversationState"]?["history"]?.arrayValue ?? []
        let users =
            history.compactMap { $0["userInputMessage"] } + [body?["conversationState"]?["currentMessage"]?["userInputMessage"]].compactMap { $0 }
        return users.map { $0["origin"]?.stringValue }
    }

    @Test("a Kiro account's user messages say origin AI_EDITOR, history included, and its refresh names the template's Kiro version")
    func kiroAccount() async throws {
        try await withProxy(accounts: simAccount(.kiro)) { harness in
            let reply = try await harness.post("/v1/messages", Self.conversation)
            #expect(reply.status == 200)
            #expect(reply.body.contains("fine"))
            #expect(Self.origins(harness) == Array(repeating: "AI_EDITOR", count: 3), "the system pair's, the first turn's and the current message")
            let agents = harness.simulator.kiroRefreshUserAgents
            #expect(agents.count == 1)
            #expect(agents.first?.hasPrefix("KiroIDE-\(RequestTemplate.builtIn.kiroVersion)-") == true)
            #expect(agents.first?.count == "KiroIDE-0.7.45-".count + 64)
        }
    }

    @Test("an OIDC account's user messages still say KIRO_CLI")
    func oidcAccount() async throws {
        try await withProxy(accounts: simAccount(.oidc)) { harness in
            let reply = try await harness.post("/v1/messages", Self.conversation)
            #expect(reply.status == 200)
            #expect(Self.origins(harness) == Array(repeating: "KIRO_CLI", count: 3))
            #expect(harness.simulator.kiroRefreshUserAgents.isEmpty)
        }
    }

    @Test("the template's origins name exactly the account kinds")
    func kindsAgree() {
        #expect(Set(RequestTemplate.accountKinds) == Set(AccountKind.allCases.map(\.rawValue)))
        #expect(RequestTemplate.defaultKind == AccountKind.oidc.rawValue)
    }
}
