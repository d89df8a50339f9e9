import ProxyModels

/// The OpenAI Responses API: `POST /v1/responses`, and the stored responses under `/v1/responses/{id}`.
///
/// A stored response (`store: true`, the default) is kept with its own input items, its output items (reasoning
/// included) and the id of the response it continued, so `previous_response_id` rebuilds the conversation by
/// following that chain, across restarts and reloads; each turn is stored once, not once per later turn.
package struct ResponsesDialect: Dialect {
    package init() {}

    package var name: String { "responses" }
    package var shape: any FailureShape { OpenAIFailureShape() }
    package var pathPrefixes: [String] { ["/v1/responses"] }
    package var createPath: String { "/v1/responses" }
    package var idPrefix: String { "resp_" }
    package var endpoints: [DialectEndpoint] {
        [
            DialectEndpoint(.get, "/v1/responses/:id") { call throws(ProxyFailure) in
                try await Self.stored(call)["response"] ?? .null
            },
            DialectEndpoint(.delete, "/v1/responses/:id") { call throws(ProxyFailure) in
                let id = call.parameters["id"] ?? ""
                guard await call.archive.forget(id) else { throw Self.unknown(id) }
                return ["id": .string(id), "object": "response", "deleted": true]
            },
            DialectEndpoint(.get, "/v1/responses/:id/input_items") { call throws(ProxyFailure) in
                try await Self.inputItems(call)
            },
        ]
    }

    package func decode(_ body: JSONValue) throws(RequestError) -> ResponsesRequest {
        try ResponsesRequestDecoder.decode(body)
    }

    /// The longest chain of stored responses `previous_response_id` follows.
    static let maximumChain = 10_000

    /// Continues a stored conversation: its items come before this request's, and this request's instructions apply.
    package func prepare(_ request: ResponsesRequest, archive: any ReplyArchive) async throws(ProxyFailure) -> ResponsesRequest {
        guard let previous = request.previousResponseID else { return request }
        var turns: [[JSONValue]] = []
        var next: String? = previous
        while let id = next {
            guard turns.count < Self.maximumChain else {
                throw .invalidRequest(
                    "previous_response_id: the conversation is longer than \(Self.maximumChain) stored responses", field: "previous_response_id")
            }
            guard let record = await archive.record(id) else {
                throw .invalidRequest(
                    id == previous
                        ? "previous_response_id: no stored response \"\(id)\": it does not exist, has expired or was deleted, or was created with store: false"
                        : "previous_response_id: the conversation's earlier response \"\(id)\" is no longer stored (expired or deleted)",
                    field: "previous_response_id")
            }
            turns.append((record["input"]?.arrayValue ?? []) + (record["output"]?.arrayValue ?? []))
            next = record["previous"]?.stringValue
        }
        var request = request
        request.history = turns.reversed().flatMap { $0 }
        var decoder = ResponsesInputDecoder()
        do {
            try decoder.add(request.history, path: "previous_response_id")
            try decoder.add(request.input, path: "input")
            try decoder.checkPairs()
        } catch {
            throw ProxyFailure(requestError: error)
        }
        request.conversation.messages = decoder.messages
        request.conversation.system = decoder.systemText(instructions: request.instructions)
        return request
    }

    package func streamEncoder(for request: ResponsesRequest, header: ReplyHeader) -> ResponsesStreamEncoder {
        ResponsesStreamEncoder(request: request, header: header)
    }

    package func body(for request: ResponsesRequest, header: ReplyHeader, reply: ReplyAccumulator) throws(ProxyFailure) -> JSONValue {
        let output = ResponsesOutput(request: request, responseID: header.id, reply: reply)
        var items = output.doneItems()
        let status = Self.status(of: reply)
        if let schema = request.conversation.responseSchema, status == .completed, !output.callsTools {
            switch StructuredOutput.conform(output.messageText, to: schema) {
            case .success(let json): items = Self.replacingText(of: items, with: json)
            case .failure(let violation): throw .schemaViolation(violation)
            }
        }
        return Self.response(request, header: header, reply: reply, output: output, items: items)
    }

    package func keepsReply(_ request: ResponsesRequest) -> Bool { request.store }

    /// Codex never retries a 429 and ignores `retry-after`; it waits and retries only on a `response.failed` whose
    /// code is `rate_limit_exceeded` and whose message says "try again in N s". So a throttled streaming request
    /// from Codex is answered with a stream that fails that way; every other client gets the 429.
    package func streamsEarlyFailure(_ failure: ProxyFailure, for request: ResponsesRequest) -> Bool {
        request.fromCodex && request.conversation.stream && failure.kind == .rateLimited
    }

    package func finished(_ request: ResponsesRequest, header: ReplyHeader, reply: ReplyAccumulator, archive: any ReplyArchive) async {
        let output = ResponsesOutput(request: request, responseID: header.id, reply: reply)
        let response =
            (try? body(for: request, header: header, reply: reply))
            ?? Self.response(request, header: header, reply: reply, output: output, items: output.doneItems())
        let record: JSONValue = [
            "response": response, "input": .array(request.input), "output": .array(output.doneItems(forStore: true)),
            "previous": request.previousResponseID.map(JSONValue.string) ?? .null,
        ]
        await archive.keep(header.id, record)
    }

    // MARK: - Helpers

    static func status(of reply: ReplyAccumulator) -> ResponsesObject.Status {
        if reply.failure != nil || reply.interruption != nil { return .failed }
        guard let finish = reply.finish else { return .incomplete }
        return finish.stopReason == .maxTokens ? .incomplete : .completed
    }

    static func response(_ request: ResponsesRequest, header: ReplyHeader, reply: ReplyAccumulator, output: ResponsesOutput, items: [JSONValue])
        -> JSONValue
    {
        let usage = reply.finish.map { ResponsesObject.usage($0.usage, reasoningTokens: output.reasoningTokens) } ?? .null
        let failure = reply.interruption ?? reply.failure.map { ProxyFailure(upstream: $0) }
        return ResponsesObject.make(
            request, header: header, status: status(of: reply), output: items, usage: usage, error: failure.map(ResponsesObject.error) ?? .null)
    }

    /// The conforming JSON as the one text of the reply: in the first message, the other messages left out.
    static func replacingText(of items: [JSONValue], with json: String) -> [JSONValue] {
        var replaced = false
        return items.compactMap { item in
            guard item["type"]?.stringValue == "message" else { return item }
            if replaced { return nil }
            replaced = true
            return item.setting("content", to: [ResponsesOutput.textPart(json)])
        }
    }

    /// An input item as the API lists it: a message with its `type`, its `status` and its content as parts.
    static func typedItem(_ item: JSONValue) -> JSONValue {
        let type = item["type"]?.stringValue ?? (item["role"] != nil ? "message" : nil)
        guard type == "message", let role = item["role"]?.stringValue else { return item }
        let partType: JSONValue = role == "assistant" ? "output_text" : "input_text"
        var content = item["content"] ?? []
        if let text = content.stringValue { content = [["type": partType, "text": .string(text)]] }
        return item.setting("type", to: "message").setting("status", to: item["status"] ?? "completed").setting("content", to: content)
    }

    static func stored(_ call: DialectEndpoint.Call) async throws(ProxyFailure) -> JSONValue {
        let id = call.parameters["id"] ?? ""
        guard let record = await call.archive.record(id) else { throw unknown(id) }
        return record
    }

    static func unknown(_ id: String) -> ProxyFailure {
        .notFound("no stored response with id \"\(id)\": it does not exist, has expired or was deleted, or was created with store: false")
    }

    /// `GET /v1/responses/{id}/input_items`: the items that led to the response (`order` asc or desc, `limit` 1–100).
    static func inputItems(_ call: DialectEndpoint.Call) async throws(ProxyFailure) -> JSONValue {
        let record = try await stored(call)
        let id = call.parameters["id"] ?? ""
        let suffix = id.drop { $0 != "_" }.dropFirst()
        var items = (record["input"]?.arrayValue ?? []).enumerated().map { index, item in
            let typed = typedItem(item)
            return typed["id"]?.stringValue == nil ? typed.setting("id", to: .string("item_\(suffix)\(index)")) : typed
        }
        let order = call.query["order"] ?? "desc"
        guard order == "asc" || order == "desc" else { throw .invalidRequest("order: must be asc or desc", field: "order") }
        if order == "desc" { items.reverse() }
        if let after = call.query["after"], let position = items.firstIndex(where: { $0["id"]?.stringValue == after }) {
            items = Array(items[(position + 1)...])
        }
        var limit = 20
        if let text = call.query["limit"] {
            guard let value = Int(text), (1...100).contains(value) else {
                throw .invalidRequest("limit: must be an integer from 1 to 100", field: "limit")
            }
            limit = value
        }
        let page = Array(items.prefix(limit))
        return [
            "object": "list", "data": .array(page), "first_id": page.first?["id"] ?? .null, "last_id": page.last?["id"] ?? .null,
            "has_more": .bool(items.count > limit),
        ]
    }
}
