import NIOCore

/// Runs a task's jobs on one NIO event loop: the client connection's.
///
/// A streamed reply crosses threads at every frame: the upstream read on an event loop, the pump on the global
/// pool, the writer, then the client connection's event loop for the write. When the pump and the writer prefer the
/// client connection's loop, a frame wakes one thread instead of several, which is most of the per-frame cost when
/// frames arrive one at a time (each a read of its own, as a model streams its tokens): measured, context switches
/// per reply fall from 134 to 77 (BENCHMARKS.md). Nothing the pump or the writer does blocks (no `wait()`, no sleep);
/// the one synchronous file write on their path is a token refresh's state record, once an hour per account.
final class EventLoopExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
