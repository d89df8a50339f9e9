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
    /// A state file was added, changed or removed by another process: the accounts are rebuilt,
    /// the YAML is not re-read.
    case stateDirectory = "state_dir"
}

/// What a reload did, for the log, `/healthz` and `POST /v2/reload`.
package enum ReloadOutcome: Sendable, Equatable {
    /// The new config is in force (`changes` is the one-line diff); `warnings` name parts that
    /// could not apply (a listener that could not bind).
    case reloaded(generation: Int, changes: String, warnings: [String])
    /// The file is invalid; the previous config stays in force.
    case rejected(error: String)
    /// The file is valid but a guard rail stopped it (it would leave no listener, remove every account or open
    /// the API without saying so); the previous config stays in force.
    case refused(error: String)
    /// The file kept changing while it was read; nothing was applied and the reload is retried later.
    case unsettled(error: String)
}

/// One queued reload and, for `POST /v2/reload`, who waits for its outcome.
struct ReloadRequest: Sendable {
    var trigger: ReloadTrigger
    /// When it was asked for: a reload whose settled read began later already covers it.
    var requestedAt = ContinuousClock.now
    /// Called once with the outcome, or with `nil` when the server shuts down first.
    var reply: (@Sendable (ReloadOutcome?) -> Void)?

    init(trigger: ReloadTrigger, reply: (@Sendable (ReloadOutcome?) -> Void)? = nil) {
        self.trigger = trigger
        self.reply = reply
    }
}

/// Watches a file's content by polling. Polling content, not inotify on the path, is what
/// survives editors that replace the file and ConfigMaps that swap a symlink. A change only
/// triggers a reload; the reload itself waits until the file has settled (see ``SettledFile``).
struct ConfigFileWatcher: Sendable {
    let path: String
    let interval: Duration

    func run(onChange: @Sendable () -> Void) async {
        var known = Self.read(path)
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled else { return }
            let current = Self.read(path)
            guard current != known else { continue }
            known = current
            onChange()
        }
    }

    static func read(_ path: String) -> Data? {
        FileManager.default.contents(atPath: path)
    }
}
