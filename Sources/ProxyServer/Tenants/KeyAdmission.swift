import NIOCore
import ProxyConfig
import Translation

/// The checks `api_keys[].models` and `api_keys[].limits` make on a chat request, once its model is resolved and
/// before an account is checked out: the same in every dialect, refused in the dialect's own error shape.
extension ProxyRuntime {
    /// The key named `name` in `settings`, when it is one of `api_keys` (`admin` and `anonymous` are not).
    func apiKey(named name: String?, settings: ServerSettings) -> ProxyConfig.APIKey? {
        guard let name else { return nil }
        return settings.apiKeys.first { $0.name == name }
    }

    /// The upstream model ids `key` may use (its `models` resolved the way a request's model is, so aliases, dated
    /// and `-thinking` names all land on their model), or `nil` when it may use every model.
    ///
    /// Resolved per call rather than once per settings: with `models.discover` a name may resolve to a model the
    /// accounts reported after the settings were built.
    func allowedModels(of key: ProxyConfig.APIKey?, settings: ServerSettings) -> Set<String>? {
        guard let models = key?.models else { return nil }
        return Set(models.compactMap { resolveModel($0, settings: settings)?.upstreamID.lowercased() })
    }

    /// Whether `key` may use `model`: its `models` resolved one by one until one lands on it, with no set built.
    func allows(_ key: ProxyConfig.APIKey, model: ServerSettings.ModelChoice, settings: ServerSettings) -> Bool {
        guard let models = key.models else { return true }
        let wanted = model.upstreamID.lowercased()
        return models.contains { resolveModel($0, settings: settings)?.upstreamID.lowercased() == wanted }
    }

    /// Admits a chat request for `model` under the key named `name` (``ProxyRequestContext/apiKeyName``, the
    /// name ``APIKeyMiddleware`` matched), or says why not: a model outside the key's `models` (403
    /// permission_error), or a limit reached (429 with `retry-after`). An admitted request gets a ``KeyPermit``,
    /// which the recorder holds until the request's last byte is out (``AccessLogLine/write(clientGone:)``).
    ///
    /// - Parameters:
    ///   - name: The request's key name; `nil`, `admin` and `anonymous` are admitted without a permit.
    ///   - clientModel: The model name as the client wrote it, for the message.
    ///   - model: What it resolved to.
    ///   - recorder: The request's access-log record: notes a refusal, holds the permit.
    ///   - connection: The client's connection: a hang-up frees the key's stream even if the response is never written.
    /// - Returns: The permit (`nil` for a request no key limit follows), or the refusal in the client's dialect.
    func admitKey(
        named name: String?, clientModel: String, model: ServerSettings.ModelChoice, settings: ServerSettings,
        recorder: AccessLogRecorder?, connection: (any Channel)?
    ) -> Result<KeyPermit?, ProxyFailure> {
        guard let key = apiKey(named: name, settings: settings) else { return .success(nil) }
        guard allows(key, model: model, settings: settings) else {
            refuse(key: key.name, limit: "models", recorder: recorder)
            return .failure(
                .permission(
                    "API key '\(key.name)' may not use the model \(clientModel); it may use \((key.models ?? []).joined(separator: ", "))"))
        }
        // Keys without limits are counted too, so that a reload giving one a limit starts from what it used.
        switch keyLimiter.admit(key: key.name, limits: key.limits) {
        case .success(let permit):
            recorder?.update { $0.keyPermit = permit }
            if let connection {
                let hangups = self.hangups
                let registration = hangups.onHangup(of: connection) { permit.freeStream() }
                permit.onFree { hangups.cancel(registration) }
            }
            return .success(permit)
        case .failure(let refusal):
            refuse(key: key.name, limit: refusal.limitName, recorder: recorder)
            return .failure(.rateLimited(refusal.message(key: key.name), retryAfter: refusal.retryAfter))
        }
    }

    private func refuse(key: String, limit: String, recorder: AccessLogRecorder?) {
        recorder?.update { $0.keyRejection = limit }
        metrics.recordKeyLimitRejection(key: key, limit: limit)
    }
}
