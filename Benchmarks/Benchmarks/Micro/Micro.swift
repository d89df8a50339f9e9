// q2api's micro-benchmarks (issue #7): the per-request and per-frame costs of the proxy's own code, without
// sockets. `scripts/microbench` runs them and writes the summary in BENCHMARKS.md; the names matter to it.
import Benchmark
import EventStream
import NIOCore
import ProxyModels
import Translation

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    // MARK: 1. Event-stream decoding

    // One buffer holding the whole body, decoded frame by frame as `QEventStream` does once bytes have arrived.
    // `frames` and `bytes` per iteration are in the tags; scripts/microbench turns them into MB/s and mallocs/frame.
    for input in DecodeInput.all {
        Benchmark(
            "EventStream decode: \(input.name)",
            configuration: .init(tags: ["frames": "\(input.frames)", "bytes": "\(input.body.readableBytes)"])
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                var decoder = EventStreamDecoder()
                var buffer = input.body
                while let message = try decoder.decode(buffer: &buffer) {
                    blackHole(message)
                }
            }
        }
    }

    // MARK: 2. Request planning

    // Request body bytes to the Amazon Q payload bytes: JSON parse, Claude decode, repair and mapping, JSON write.
    for request in PlanInput.all {
        Benchmark(
            "Plan Claude request: \(request.name)",
            configuration: .init(tags: ["bytes": "\(request.body.count)"])
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try request.plan())
            }
        }
    }

    // MARK: 3. Reply translation

    // A whole realistic reply (`frames` upstream events) to the client's SSE bytes, as the pump and the framing
    // do it: QEvents → ReplyTranslator → dialect encoder → SSE lines in a ByteBuffer.
    let reply = ReplyInput.realistic
    let replyTags = ["frames": "\(reply.events.count)"]
    Benchmark("Reply to Claude SSE: realistic reply", configuration: .init(tags: replyTags)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(reply.claudeSSE())
        }
    }
    Benchmark("Reply to OpenAI SSE: realistic reply", configuration: .init(tags: replyTags)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(reply.openAISSE())
        }
    }
    Benchmark("Reply to Responses SSE: realistic reply", configuration: .init(tags: replyTags)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(reply.responsesSSE())
        }
    }
    // The same, from the upstream's bytes: decode, parse each payload's JSON, map to QEvents, then as above.
    // Everything q2api does per streamed reply apart from HTTP and scheduling.
    Benchmark("Reply to Claude SSE: from upstream bytes", configuration: .init(tags: replyTags)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try reply.claudeSSEFromWire())
        }
    }

    // MARK: 4. Account pool

    // One checkout + cached access token + checkin, by `tasks` concurrent tasks over 4 accounts; 1,000 per
    // iteration (throughput is per checkout).
    for tasks in [1, 8, 64] {
        Benchmark(
            "Account checkout/checkin: \(tasks) concurrent task\(tasks == 1 ? "" : "s")",
            configuration: .init(tags: ["tasks": "\(tasks)"], scalingFactor: .kilo)
        ) { benchmark, pool in
            await PoolInput.run(pool, tasks: tasks, total: benchmark.scaledIterations.count)
        } setup: {
            await PoolInput.makePool()
        }
    }
}
