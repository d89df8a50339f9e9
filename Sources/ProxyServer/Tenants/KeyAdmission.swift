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
    func allowedModels(of key: ProxyConfig.APIKey?, settings: ServerSettings) -> Set<String>? {
        guard let models = key?.models else { return nil }
        return Set(models.compactMap { resolveModel($0, settings: settings)?.upstreamID.lowercased() })
    }

    /// Admits a chat request for `model` under the key the recorder names, or says why not: a model outside the
    /// key's `models` (403 permission_error), or a limit reached (429 with `retry-after`). An admitted request holds
    /// a ``KeyPermit`` in the recorder, released when its last byte is out (``AccessLogLine/write(clientGone:)``).
    ///
    /// - Parameters:
    ///   - clientModel: The model name as the client wrote it, for the message.
    ///   - model: What it resolved to.
    ///   - connection: The client's connection: a hang-up frees the key's stream even if the response is never written.
    func admitKey(
        clientModel: String, model: ServerSettings.ModelChoice, settings: ServerSettings, recorder: AccessLogRecorder?,
        connection: (any Channel)?
    ) -> ProxyFailure? {
        guard let recorder, let key = apiKey(named: recorder.snapshot.apiKey, settings: settings) else { return nil }
        if let allowed = allowedModels(of: key, settings: settings), !allowed.contains(model.upstreamID.lowercased()) {
            refuse(key: key.name, limit: "models", recorder: recorder)
            return .permission(
                "API key '\(key.name)' may not use the model \(clientModel); it may use \((key.models ?? []).joined(separator: ", "))")
        }
        // Keys without limits are counted too, so that a reload giving one a limit starts from what it used.
        switch keyLimiter.admit(key: key.name, limits: key.limits) {
        case .success(let permit):
            recorder.update { $0.keyPermit = permit }
            if let connection {
                let hangups = self.hangups
                let registration = hangups.onHangup(of: connection) { permit.freeStream() }
                permit.onFree { hangups.cancel(registration) }
            }
            return nil
        case .failure(let refusal):
            refuse(key: key.name, limit: refusal.limitName, recorder: recorder)
            return .rateLimited(refusal.message(key: key.name), retryAfter: refusal.retryAfter)
        }
    }

    private func refuse(key: String, limit: String, recorder: AccessLogRecorder) {
        recorder.update { $0.keyRejection = limit }
        metrics.recordKeyLimitRejection(key: key, limit: limit)
    }
}
