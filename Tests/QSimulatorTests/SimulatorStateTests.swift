import Testing

@testable import QSimulator

@Suite("Simulator state")
struct SimulatorStateTests {
    @Test("a held wait ends when its task is cancelled, and is no longer counted")
    func cancelledHold() async throws {
        let state = SimulatorState()
        let waiter = Task { await state.waitForRelease() }
        #expect(try await eventually { state.heldStreams == 1 })
        waiter.cancel()
        await waiter.value
        #expect(state.heldStreams == 0)
    }

    @Test("a release lets only the streams held at that moment go")
    func releaseIsPerMoment() async throws {
        let state = SimulatorState()
        state.releaseHeld()
        let waiter = Task { await state.waitForRelease() }
        #expect(try await eventually { state.heldStreams == 1 })
        #expect(state.releaseAllHeld() == 1)
        await waiter.value
        #expect(state.heldStreams == 0)
    }
}
