import Translation

extension ProxyConfig {
    /// The request template this config names (`upstream.template`), compiled; the built-in one
    /// when none is named. A template that does not compile is a config error pointing at the
    /// template file's line and column, so `q2api check` and reloads reject it like a bad key.
    package func compiledTemplate() throws(ConfigErrors) -> RequestTemplate {
        guard let source = templateSource else { return .builtIn }
        do {
            return try RequestTemplate.compile(source: source.text, origin: source.path)
        } catch {
            throw ConfigErrors([
                ConfigError(file: source.path, line: error.line, column: error.column, keyPath: "upstream.template", message: error.message)
            ])
        }
    }
}
