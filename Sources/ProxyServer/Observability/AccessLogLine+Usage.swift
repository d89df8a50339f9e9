import Translation
import Usage

extension AccessLogLine {
    /// Whether a request counts as usage: only the routes that create a reply (`POST /v1/messages`,
    /// `/v1/chat/completions`, `/v1/responses`), not model lists, token counts, health checks or the admin API.
    static func countsAsUsage(method: String, path: String) -> Bool {
        method == "POST" && Dialects.all.contains { $0.createPath == path }
    }

    /// Counts a finished request in the usage ledger and the per-key metrics.
    ///
    /// A request a key limit refused (``AccessLogRecorder/Fields/keyRejection``) is a throttle with no account;
    /// any other status of 400 or more is a failure. The key is the name ``APIKeyMiddleware`` recorded (`anonymous`
    /// without `api_keys`, `admin` for an admin key); a request it refused for a missing or unknown key belongs to
    /// no key and is not counted. The model is the capped metric name, so neither files nor series grow without
    /// bound.
    func recordUsage(_ fields: AccessLogRecorder.Fields) {
        guard Self.countsAsUsage(method: method, path: path), let key = fields.apiKey else { return }
        let outcome: UsageLedger.Outcome = fields.keyRejection != nil ? .throttled : (status >= 400 ? .failure : .success)
        let input = fields.inputTokens ?? 0
        let output = fields.outputTokens ?? 0
        usage?.record(
            key: key, account: outcome == .throttled ? "" : fields.account ?? "", model: fields.metricModel ?? "", outcome: outcome,
            inputTokens: input, outputTokens: output)
        metrics?.recordKeyRequest(key: key, success: outcome == .success, inputTokens: input, outputTokens: output)
    }
}
