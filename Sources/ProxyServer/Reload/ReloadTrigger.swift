import Foundation

/// Why a reload runs.
package enum ReloadTrigger: String, Sendable {
    /// SIGHUP.
    case signal
    /// The config file's content changed (polled by content, so a rename or a Kubernetes
    /// ConfigMap symlink swap is seen like an edit).
    case fileChanged = "file"
    /// `POST /v2/reload` or a test.
    case request
}

/// Watches a file's content by polling. Polling content, not inotify on the path, is what
/// survives editors that replace the file and ConfigMaps that swap a symlink.
struct ConfigFileWatcher: Sendable {
    let path: String
    let interval: Duration
    /// A change is reported once the content has been stable for this long (editors write in steps).
    let debounce: Duration

    func run(onChange: @Sendable () -> Void) async {
        var known = Self.read(path)
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled else { return }
            var current = Self.read(path)
            guard current != known else { continue }
            // Wait until two reads a debounce apart agree, so a half-written file is not loaded.
            while !Task.isCancelled {
                try? await Task.sleep(for: debounce)
                let again = Self.read(path)
                if again == current { break }
                current = again
            }
            known = current
            onChange()
        }
    }

    static func read(_ path: String) -> Data? {
        FileManager.default.contents(atPath: path)
    }
}
