import ProxyConfig
import Translation

/// Everything the running server reads from the config, in the shape the request path needs.
///
/// Built from one validated `ProxyConfig` snapshot; a request keeps the snapshot it started
/// with even if a reload swaps in a new one meanwhile.
package struct ServerSettings: Sendable {
    package struct Listener: Sendable, Hashable {
        package var host: String
        package var port: Int
        /// Serving with no API keys on a non-loopback address was explicitly allowed.
        package var open: Bool

        package init(host: String, port: Int, open: Bool = false) {
            self.host = host
            self.port = port
            self.open = open
        }
    }

    package struct ModelChoice: Sendable, Equatable {
        package var upstreamID: String
        /// The client's name asked for thinking (`…-thinking`).
        package var thinking: Bool

        package init(upstreamID: String, thinking: Bool = false) {
            self.upstreamID = upstreamID
            self.thinking = thinking
        }
    }

    package var listeners: [Listener]
    /// `api_keys`: each key with its name, allowed models and limits.
    package var apiKeys: [ProxyConfig.APIKey]
    /// `admin_keys`: they open the `/v2` admin API and the console, and are accepted as API keys too.
    package var adminKeys: [String] = []
    /// `admin_open_on_loopback`.
    package var adminOpenOnLoopback = false
    /// `metrics_keys`: they open `/metrics` on non-loopback listeners (so do admin keys).
    package var metricsKeys: [String] = []
    /// `console`.
    package var console = true
    package var maxBodyBytes: Int
    /// `limits.body_timeout`: how long a request body may take to arrive.
    package var bodyTimeout: Duration = .seconds(60)
    package var maxInputTokens: Int
    package var retries: Int
    package var upstreamEndpoint: String
    package var template: RequestTemplate
    /// Upstream model ids served, for `GET /v1/models`.
    package var models: [String]
    /// Maps a client model name to an upstream id; nil = unknown and rejected.
    package var resolveModel: @Sendable (String, _ discovered: [String]) -> ModelChoice?
    /// `models.discover`: the models the accounts report are served too.
    package var modelDiscovery = true
    /// Seconds between keep-alive pings while the upstream is silent.
    package var pingInterval: Duration
    package var configGeneration: Int
    package var configPath: String
    /// Every model name the config knows (available ids and alias names), lower-cased: the bound on
    /// the `model` label of the metrics.
    package var modelNames: Set<String> = []

    package init(
        listeners: [Listener] = [.init(host: "127.0.0.1", port: 8080)], apiKeys: [ProxyConfig.APIKey] = [], maxBodyBytes: Int = 20 * 1024 * 1024,
        maxInputTokens: Int = 200_000, retries: Int = 2, upstreamEndpoint: String = "https://q.us-east-1.amazonaws.com/",
        template: RequestTemplate = .builtIn, models: [String] = ["claude-sonnet-4.5"],
        resolveModel: @escaping @Sendable (String, _ discovered: [String]) -> ModelChoice? = { _, _ in ModelChoice(upstreamID: "claude-sonnet-4.5") },
        pingInterval: Duration = .seconds(15), configGeneration: Int = 1, configPath: String = ""
    ) {
        self.listeners = listeners
        self.apiKeys = apiKeys
        self.maxBodyBytes = maxBodyBytes
        self.maxInputTokens = maxInputTokens
        self.retries = retries
        self.upstreamEndpoint = upstreamEndpoint
        self.template = template
        self.models = models
        self.resolveModel = resolveModel
        self.pingInterval = pingInterval
        self.configGeneration = configGeneration
        self.configPath = configPath
    }
}
