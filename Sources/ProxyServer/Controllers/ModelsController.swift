import Hummingbird
import ProxyModels
import Translation

/// `GET /v1/models`: the configured models, in Anthropic's shape for Anthropic clients and in
/// OpenAI's otherwise (the dialect middleware decides by headers).
package struct ModelsController: Sendable {
    let runtime: ProxyRuntime
    /// A fixed creation time: the list comes from the config, not from a model registry.
    static let created = 1_735_689_600  // 2025-01-01T00:00:00Z

    package init(runtime: ProxyRuntime) {
        self.runtime = runtime
    }

    package func addRoutes(to router: Router<ProxyRequestContext>) {
        router.get("/v1/models", use: list)
        router.get("/v1/models/:id", use: show)
    }

    @Sendable func list(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let settings = runtime.settings
        let models = keyModels(runtime.servedModels(settings: settings), context: context, settings: settings)
        if context.errorShape is ClaudeFailureShape {
            return JSONResponse.make([
                "data": .array(models.map(anthropicModel)), "has_more": false,
                "first_id": models.first.map(JSONValue.string) ?? .null, "last_id": models.last.map(JSONValue.string) ?? .null,
            ])
        }
        return JSONResponse.make(["object": "list", "data": .array(models.map(openAIModel))])
    }

    @Sendable func show(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        let settings = runtime.settings
        let served = keyModels(runtime.servedModels(settings: settings), context: context, settings: settings)
        guard let choice = runtime.resolveModel(id, settings: settings), served.contains(choice.upstreamID) || served.contains(id) else {
            throw ProxyHTTPError(.unknownModel("model: \(id) is not served by this proxy"), context: context)
        }
        _ = choice
        return JSONResponse.make(context.errorShape is ClaudeFailureShape ? anthropicModel(id) : openAIModel(id))
    }

    /// The models of `served` the request's key may use (`api_keys[].models`): a key sees only what it can call.
    func keyModels(_ served: [String], context: ProxyRequestContext, settings: ServerSettings) -> [String] {
        guard let allowed = runtime.allowedModels(of: runtime.apiKey(named: context.apiKeyName, settings: settings), settings: settings) else {
            return served
        }
        return served.filter { allowed.contains($0.lowercased()) }
    }

    func anthropicModel(_ id: String) -> JSONValue {
        ["type": "model", "id": .string(id), "display_name": .string(Self.displayName(id)), "created_at": "2025-01-01T00:00:00Z"]
    }

    func openAIModel(_ id: String) -> JSONValue {
        ["id": .string(id), "object": "model", "created": .int(Self.created), "owned_by": "amazon-q"]
    }

    /// `claude-sonnet-4.5` → `Claude Sonnet 4.5`.
    static func displayName(_ id: String) -> String {
        id.split(separator: "-").map { part in part.prefix(1).uppercased() + part.dropFirst() }.joined(separator: " ")
    }
}
