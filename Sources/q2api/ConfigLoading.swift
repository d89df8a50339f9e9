import Foundation
import ProxyConfig
import Translation

/// Loads and fully validates a config (template included), printing errors the way `check` does.
enum ConfigLoading {
    static func load(_ path: String) -> Result<(ProxyConfig, RequestTemplate), ConfigErrors> {
        do {
            let config = try ProxyConfig.load(path: path)
            let template = try config.compiledTemplate()
            return .success((config, template))
        } catch {
            return .failure(error)
        }
    }

    static func printErrors(_ errors: ConfigErrors) {
        FileHandle.standardError.write(Data((errors.description + "\n").utf8))
    }
}
