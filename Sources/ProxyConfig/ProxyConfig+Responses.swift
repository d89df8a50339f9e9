extension ProxyConfig {
    /// `responses`: how stored OpenAI Responses (`store: true`, for `previous_response_id` and
    /// `GET /v1/responses/{id}`) are kept in `state_dir/responses/`.
    package struct Responses: Sendable, Equatable {
        /// `store`: false keeps no response at all (requests are answered; `previous_response_id` is then a 400).
        package var store: Bool
        /// `retention`: how long a stored response can be read or continued.
        package var retention: Duration
        /// `max_file_size`: the size at which a new JSON-lines file is started (old files are dropped or compacted whole).
        package var maxFileSize: Int
        /// `max_size`: the most the stored responses may take on disk; the oldest files go first.
        package var maxSize: Int

        package init(store: Bool = true, retention: Duration = .seconds(30 * 24 * 3600), maxFileSize: Int = 16 << 20, maxSize: Int = 1 << 30) {
            self.store = store
            self.retention = retention
            self.maxFileSize = maxFileSize
            self.maxSize = maxSize
        }
    }
}
