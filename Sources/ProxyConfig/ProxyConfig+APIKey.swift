import Crypto
import ProxyModels

extension ProxyConfig {
    /// One entry of `api_keys`: a client key with a name, and optionally the models it may use and its limits.
    ///
    /// Written either as a plain string (the key itself: every model, no limits, named ``derivedName(for:)``) or as
    /// a mapping:
    ///
    /// ```yaml
    /// api_keys:
    ///   - name: intern
    ///     key_file: secrets/intern.key     # or key: "${INTERN_KEY}"
    ///     models: [claude-haiku-4.5, fast]  # names or aliases; absent = every model
    ///     limits: {requests_per_minute: 10, concurrent_streams: 2, tokens_per_day: 200000}
    ///     enabled: true
    /// ```
    ///
    /// The name, never the key, is what logs, metrics, usage files and the console show.
    package struct APIKey: Sendable, Equatable {
        /// `name`: follows the account-id rule (``ProxyConfig/Account/isValidID(_:)``), since it names usage files.
        package var name: String
        /// `key` / `key_file`.
        package var key: Secret
        /// `models`: the model names or aliases this key may use, as written; `nil` = every model.
        package var models: [String]?
        /// `limits`.
        package var limits: KeyLimits
        /// `enabled`: a disabled key is refused with 401 "API key is disabled".
        package var enabled: Bool

        package init(name: String, key: Secret, models: [String]? = nil, limits: KeyLimits = KeyLimits(), enabled: Bool = true) {
            self.name = name
            self.key = key
            self.models = models
            self.limits = limits
            self.enabled = enabled
        }

        /// A key written as a plain string: named by its digest, every model, no limits.
        package init(plain key: Secret) {
            self.init(name: Self.derivedName(for: key), key: key)
        }

        /// `key-` and the first 8 hex digits of the SHA-256 of the key: stable when the list is reordered, the same on
        /// every instance, and of no help in guessing the key.
        package static func derivedName(for key: Secret) -> String {
            let digest = SHA256.hash(data: Array(key.value.utf8))
            return "key-" + digest.prefix(4).map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
        }
    }

    /// `api_keys[].limits`: each limit is optional (absent = unlimited) and at least 1.
    package struct KeyLimits: Sendable, Hashable {
        /// `requests_per_minute`: requests admitted in any 60 s window.
        package var requestsPerMinute: Int?
        /// `concurrent_streams`: requests being answered at once (streamed or not), until their last byte is out.
        package var concurrentStreams: Int?
        /// `tokens_per_day`: input + output tokens in the current UTC day.
        package var tokensPerDay: Int?

        package init(requestsPerMinute: Int? = nil, concurrentStreams: Int? = nil, tokensPerDay: Int? = nil) {
            self.requestsPerMinute = requestsPerMinute
            self.concurrentStreams = concurrentStreams
            self.tokensPerDay = tokensPerDay
        }

        /// Whether no limit is set.
        package var isEmpty: Bool { requestsPerMinute == nil && concurrentStreams == nil && tokensPerDay == nil }
    }
}

extension ProxyConfig.APIKey {
    /// One line for `q2api check -v`: the name, the models and the limits, never the key.
    ///
    /// ```text
    /// intern: models claude-haiku-4.5, fast; 10 requests/min, 2 concurrent streams, 200000 tokens/day
    /// ```
    package var summary: String {
        var parts: [String] = []
        if let models { parts.append("models \(models.joined(separator: ", "))") }
        var limits: [String] = []
        if let value = self.limits.requestsPerMinute { limits.append("\(value) requests/min") }
        if let value = self.limits.concurrentStreams { limits.append("\(value) concurrent streams") }
        if let value = self.limits.tokensPerDay { limits.append("\(value) tokens/day") }
        if !limits.isEmpty { parts.append(limits.joined(separator: ", ")) }
        if !self.enabled { parts.append("disabled") }
        return parts.isEmpty ? self.name : "\(self.name): \(parts.joined(separator: "; "))"
    }

    /// The key as `GET /v2/config` shows it: name, models, limits and state; the key itself never.
    package var redactedJSON: JSONValue {
        [
            "name": .string(self.name),
            "enabled": .bool(self.enabled),
            "models": self.models.map { .array($0.map(JSONValue.string)) } ?? .null,
            "limits": self.limits.json,
        ]
    }
}

extension ProxyConfig.KeyLimits {
    /// `{"requests_per_minute": 60 or null, "concurrent_streams": …, "tokens_per_day": …}`.
    package var json: JSONValue {
        func value(_ limit: Int?) -> JSONValue { limit.map(JSONValue.int) ?? .null }
        return [
            "requests_per_minute": value(self.requestsPerMinute),
            "concurrent_streams": value(self.concurrentStreams),
            "tokens_per_day": value(self.tokensPerDay),
        ]
    }
}
