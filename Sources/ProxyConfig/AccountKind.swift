/// How an account signs in and refreshes its access token (`accounts[].kind`).
///
/// Both kinds call the same `GenerateAssistantResponse` service through the same template; they differ in the
/// refresh call and in the few request values the kind fills in (the user agents; see the README's "Kiro accounts").
package enum AccountKind: String, Sendable, Equatable, Hashable, CaseIterable {
    /// An SSO OIDC client registration (Builder ID / IAM Identity Center): `client_id`, `client_secret` and a
    /// refresh token, refreshed at `upstream.oidc_endpoint` `/token`. The default.
    case oidc
    /// A Kiro refresh token (Kiro IDE / Kiro CLI sign-in with Google, GitHub, Builder ID or Identity Center),
    /// refreshed at Kiro's desktop auth service `POST /refreshToken`; no client registration.
    case kiro
}
