/// The OIDC clients registered through `POST /client/register` (AMAZON_Q.md §7.2).
///
/// A value type so that ``SimulatorState`` keeps it behind its one lock. Registrations never expire here:
/// the real ones last for months, far longer than any simulator run.
struct ClientRegistry: Sendable {
    /// Client id → client secret.
    private var secrets: [String: String] = [:]

    var count: Int { self.secrets.count }

    /// Registers a new client and returns its id and secret.
    mutating func register() -> (clientID: String, clientSecret: String) {
        var clientID = RandomIdentifier.clientID()
        while self.secrets[clientID] != nil {
            clientID = RandomIdentifier.clientID()
        }
        let clientSecret = RandomIdentifier.clientSecret()
        self.secrets[clientID] = clientSecret
        return (clientID, clientSecret)
    }

    /// The secret of `clientID` if it was registered here, or nil.
    func secret(of clientID: String) -> String? {
        self.secrets[clientID]
    }
}
