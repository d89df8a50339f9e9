import ProxyModels
import Translation

/// The request template's per-kind values, named by ``AccountKind`` (the template, in Translation, knows the kinds by
/// name only).
extension RequestTemplate {
    /// The `{{origin}}` an account of `kind` sends (`origins` in the template); `nil` leaves the member out.
    package func origin(for kind: AccountKind) -> String? {
        origin(forKind: kind.rawValue)
    }
}

extension UpstreamRequestPlan {
    /// The body an account of `kind` sends: its profile ARN and its kind's origin filled in.
    package func body(for kind: AccountKind, profileARN: String?) -> JSONValue {
        body(profileARN: profileARN, origin: template.origin(for: kind))
    }
}
