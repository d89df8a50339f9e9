import Foundation

/// The operator's configuration: an immutable, `Sendable` snapshot of `q2api.yaml`.
///
/// Build one with ``load(path:environment:readFile:)`` (or ``parse(yaml:path:environment:readFile:)`` for text
/// already in memory). Loading substitutes `${VAR}` references, reads `*_file` secrets and the request
/// template, applies defaults and validates everything, reporting every problem it finds at once as
/// ``ConfigErrors``. The value holds no Yams types and no file handles; keep it and pass copies around.
///
/// ```swift
/// let config = try ProxyConfig.load(path: "q2api.yaml")
/// for listener in config.listeners { print(listener.address) }
/// ```
///
/// The stored properties are `var` so tests can build variations from ``init(sourcePath:)``; the value itself
/// is a snapshot and is never changed after loading.
package struct ProxyConfig: Sendable, Equatable {
    /// The file this configuration was read from, as given to the loader.
    package var sourcePath: String
    /// `version`. Always 1 today.
    package var version: Int
    /// `listeners`. Never empty.
    package var listeners: [Listener]
    /// `api_keys`: the client keys, each with its name, allowed models and limits (see ``APIKey``). Empty means the
    /// API is open (allowed only on loopback listeners or listeners marked `open`).
    package var apiKeys: [APIKey]
    /// `admin_keys`: keys that guard the `/v2` admin API and the console.
    package var adminKeys: [Secret]
    /// `console`: whether the web console is served.
    package var console: Bool
    /// `admin_open_on_loopback`: with no `admin_keys`, serve the admin API and the console without a key to
    /// clients connecting over loopback (a single-user box). Off by default: no keys, no admin surface.
    package var adminOpenOnLoopback = false
    /// `metrics_keys`: keys that may read `/metrics` on a non-loopback listener (admin keys may too). Loopback
    /// listeners serve `/metrics` without a key.
    package var metricsKeys: [Secret] = []
    /// `shard`: the accounts this instance owns (see ``Shard``).
    package var shard = Shard()
    /// `reload`: how a reload reads the file (see ``Reload``).
    package var reload = Reload()
    /// `responses`: how stored OpenAI Responses are kept (see ``Responses``).
    package var responses = Responses()
    /// `upstream`.
    package var upstream: Upstream
    /// `models`.
    package var models: Models
    /// `balancing`.
    package var balancing: Balancing
    /// `refresh`.
    package var refresh: Refresh
    /// `state_dir`, resolved against the directory of ``sourcePath`` when relative.
    package var stateDirectory: String
    /// `limits`.
    package var limits: Limits
    /// `log`.
    package var log: Log
    /// `accounts`, in file order.
    package var accounts: [Account]
    /// The request template named by `upstream.template`, read at load time; `nil` means the built-in template.
    package var templateSource: TemplateSource?

    /// A configuration with every default, as loading a file that holds only `version: 1` gives (apart from
    /// `stateDirectory`, which such a file at `sourcePath` resolves against the file's directory).
    package init(
        sourcePath: String = "q2api.yaml",
        version: Int = 1,
        listeners: [Listener] = [Listener()],
        apiKeys: [APIKey] = [],
        adminKeys: [Secret] = [],
        console: Bool = true,
        upstream: Upstream = Upstream(),
        models: Models = Models(),
        balancing: Balancing = Balancing(),
        refresh: Refresh = Refresh(),
        stateDirectory: String = "./state",
        limits: Limits = Limits(),
        log: Log = Log(),
        accounts: [Account] = [],
        templateSource: TemplateSource? = nil
    ) {
        self.sourcePath = sourcePath
        self.version = version
        self.listeners = listeners
        self.apiKeys = apiKeys
        self.adminKeys = adminKeys
        self.console = console
        self.upstream = upstream
        self.models = models
        self.balancing = balancing
        self.refresh = refresh
        self.stateDirectory = stateDirectory
        self.limits = limits
        self.log = log
        self.accounts = accounts
        self.templateSource = templateSource
    }

    /// The account with this id, if any.
    package func account(id: String) -> Account? {
        self.accounts.first { $0.id == id }
    }
}

/// The text of the request template file named by `upstream.template`, with where it was named, so a later
/// compilation step can report template problems as configuration errors.
package struct TemplateSource: Sendable, Equatable {
    /// The template file's path, resolved against the configuration file's directory.
    package var path: String
    /// The file's full text.
    package var text: String
    /// The configuration file that named the template.
    package var configFile: String
    /// Line of the `template` key in the configuration file (1-based, 0 if unknown).
    package var line: Int
    /// Column of the `template` key in the configuration file (1-based, 0 if unknown).
    package var column: Int

    package init(path: String, text: String, configFile: String, line: Int, column: Int) {
        self.path = path
        self.text = text
        self.configFile = configFile
        self.line = line
        self.column = column
    }

    /// A configuration error pointing at `upstream.template`, for problems found while compiling the template.
    ///
    /// - Parameter message: What is wrong with the template (for example `line 3: unknown variable 'foo'`).
    /// - Returns: An error whose description reads `q2api.yaml:9:3: upstream.template: <message>`.
    package func configError(_ message: String) -> ConfigError {
        ConfigError(
            file: self.configFile,
            line: self.line,
            column: self.column,
            keyPath: "upstream.template",
            message: message
        )
    }
}
