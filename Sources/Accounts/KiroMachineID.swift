import Crypto
import ProxyConfig

extension AccountCredentials {
    /// The per-installation id a Kiro client puts in its user agents (`KiroIDE-<version>-<machine id>`): 64
    /// lower-case hex digits, as the Kiro IDE sends.
    ///
    /// Derived from the account id, so it is stable across restarts and token rotations and differs between
    /// accounts (one installation per account, as when each user runs their own IDE), and reveals nothing: no
    /// secret goes into it.
    package var kiroMachineID: String {
        let digest = SHA256.hash(data: Array("q2api kiro machine id \(id)".utf8))
        return digest.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }

    /// ``kiroMachineID`` for a `kind: kiro` account, `nil` for the others: what the request template's
    /// `kiro_headers` are filled with (``RequestTemplate/headers(kiroMachineID:)``).
    package var kiroHeadersMachineID: String? { kind == .kiro ? kiroMachineID : nil }
}
