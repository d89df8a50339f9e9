import Synchronization

/// One admitted request's hold on its key's `concurrent_streams`. Released once, when the request's last byte is
/// out; later calls do nothing, so every path that ends a request may release it. A client that hangs up before its
/// response is written frees the stream too (``freeStream()``), so a response never written cannot hold a place
/// for ever.
package final class KeyPermit: Sendable, Equatable {
    private struct State {
        var streamFreed = false
        var released = false
        /// Runs once when the stream is freed (forgets the hang-up registration).
        var onFree: (@Sendable () -> Void)?
    }

    private let limiter: KeyLimiter
    package let key: String
    private let state = Mutex(State())

    init(limiter: KeyLimiter, key: String) {
        self.limiter = limiter
        self.key = key
    }

    /// Runs `action` when the stream is freed, or at once if it already was.
    package func onFree(_ action: @escaping @Sendable () -> Void) {
        let freed = state.withLock { state in
            if !state.streamFreed { state.onFree = action }
            return state.streamFreed
        }
        if freed { action() }
    }

    /// Frees the key's place among the open requests, once, without counting tokens (the client hung up).
    package func freeStream() {
        let action: (@Sendable () -> Void)?? = state.withLock { state in
            guard !state.streamFreed else { return .none }
            state.streamFreed = true
            defer { state.onFree = nil }
            return .some(state.onFree)
        }
        guard case .some(let hook) = action else { return }
        limiter.freeStream(key: key)
        hook?()
    }

    /// The request is over: frees its stream (if a hang-up did not already) and adds its tokens to the key's day;
    /// only the first call counts.
    package func release(tokens: Int = 0) {
        let first = state.withLock { state in
            defer { state.released = true }
            return !state.released
        }
        guard first else { return }
        freeStream()
        limiter.add(tokens: tokens, key: key)
    }

    package static func == (lhs: KeyPermit, rhs: KeyPermit) -> Bool { lhs === rhs }
}
