import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ProxyModels
import Testing

@testable import QSimulator

/// A failure directive and the reply it must produce.
struct ErrorDirectiveCase: Sendable, CustomTestStringConvertible {
    var directive: String
    var status: HTTPResponse.Status
    var type: String
    /// `nil` means `"reason": null`.
    var reason: String?
    var message: String

    var testDescription: String { self.directive }

    static let all: [ErrorDirectiveCase] = [
        .init(directive: "throttle", status: .tooManyRequests, type: "ThrottlingException", reason: nil, message: "Rate exceeded"),
        .init(
            directive: "monthly", status: .badRequest, type: "ThrottlingException", reason: "MONTHLY_REQUEST_COUNT",
            message: "Maximum Request reached for this month."
        ),
        .init(
            directive: "suspend", status: .forbidden, type: "com.amazon.aws.codewhisperer#AccessDeniedException",
            reason: "TEMPORARILY_SUSPENDED", message: "Your account is temporarily suspended. Please contact AWS Support."
        ),
        .init(
            directive: "expired", status: .forbidden, type: "com.amazon.aws.codewhisperer#AccessDeniedException", reason: nil,
            message: "The bearer token included in the request is invalid."
        ),
        .init(
            directive: "overloaded", status: .internalServerError, type: "com.amazon.aws.codewhisperer#InternalServerException",
            reason: "MODEL_TEMPORARILY_UNAVAILABLE",
            message: "Encountered unexpectedly high load when processing the request, please try again."
        ),
        .init(
            directive: "unavailable", status: .serviceUnavailable, type: "ServiceUnavailableException", reason: nil,
            message: "The service is temporarily unavailable. Please try again later."
        ),
        .init(
            directive: "toolong", status: .badRequest, type: "com.amazon.aws.codewhisperer#ValidationException",
            reason: "CONTENT_LENGTH_EXCEEDS_THRESHOLD", message: "Input is too long."
        ),
    ]
}

@Suite("Failure directives")
struct ErrorDirectiveTests {
    @Test("each failure directive produces its status, __type, reason and message", arguments: ErrorDirectiveCase.all)
    func failure(_ testCase: ErrorDirectiveCase) async throws {
        let state = SimulatorState()
        try await Simulator.application(state: state).test(.router) { client in
            let response = try await Simulator.ask(client, "Please fail. [[sim:\(testCase.directive)]]")
            #expect(response.status == testCase.status)
            #expect(response.headers[.contentType] == "application/x-amz-json-1.0")
            let body = response.json
            #expect(body["__type"]?.stringValue == testCase.type)
            #expect(body["message"]?.stringValue == testCase.message)
            #expect(body["reason"] == (testCase.reason.map { JSONValue.string($0) } ?? .null))
            #expect(state.openStreams == 0)
            #expect(state.lastRequestBody != nil)
        }
    }

    @Test("failure directives win over stream directives, and work from a tool result")
    func precedenceAndToolResults() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let mixed = try await Simulator.ask(client, "[[sim:text:hi]] [[sim:throttle]]")
            #expect(mixed.status == .tooManyRequests)

            let token = try await Simulator.accessToken(client)
            let turn = try await Simulator.ask(client, token: token, body: QBody.toolTurn(resultText: "output [[sim:overloaded]]"))
            #expect(turn.status == .internalServerError)
        }
    }

    @Test("a request that breaks a rule gets the validation error, not the scripted one")
    func validationFirst() async throws {
        try await Simulator.application(state: SimulatorState()).test(.router) { client in
            let token = try await Simulator.accessToken(client)
            let body = QBody.request(QBody.user("[[sim:throttle]]"), modelID: "auto")
            let response = try await Simulator.ask(client, token: token, body: body)
            #expect(response.status == .badRequest)
            #expect(response.json["reason"] == "INVALID_MODEL_ID")
        }
    }
}
