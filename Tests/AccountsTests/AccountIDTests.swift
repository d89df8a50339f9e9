import Accounts
import ProxyConfig
import Testing

@Suite("Run-time account ids")
struct AccountIDTests {
    @Test("an id derived from a label starts with a letter or a digit, so it never names a hidden state file")
    func derivedIDs() {
        #expect(AccountStateStore.accountID(fromLabel: ".hidden", taken: []) == "hidden")
        #expect(AccountStateStore.accountID(fromLabel: "_._x", taken: []) == "x")
        #expect(AccountStateStore.accountID(fromLabel: "__", taken: []) == "account")
        #expect(AccountStateStore.accountID(fromLabel: "Work Laptop", taken: ["work-laptop"]) == "work-laptop-2")
        for label in [".a", "..", "-", "é", "_x_"] {
            #expect(ProxyConfig.Account.isValidID(AccountStateStore.accountID(fromLabel: label, taken: [])), "\(label)")
        }
    }

    @Test("a state file whose name starts with a dot is not an account")
    func hiddenFiles() {
        #expect(StateFileParser.accountID(fileName: ".hidden.jsonl") == nil)
        #expect(StateFileParser.accountID(fileName: "main.jsonl") == "main")
    }
}
