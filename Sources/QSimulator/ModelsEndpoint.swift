import Hummingbird
import ProxyModels

/// `GET /ListAvailableModels`: the models an account may use, in pages (`maxResults`, `nextToken`), as the
/// public clients of the service read it (README "Model discovery"). Needs a valid bearer token, like `POST /`.
enum ModelsEndpoint {
    static func respond(to request: Request, options: SimulatorOptions, state: SimulatorState) -> Response {
        state.recordModelListing()
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), state.isValidAccessToken(String(header.dropFirst(7))) else {
            return QServiceError.invalidBearerToken(violation: "access token is unknown or expired").response()
        }
        let query = request.uri.queryParameters
        let pageSize = query.get("maxResults").flatMap { Int($0) }.map { max(1, min($0, 50)) } ?? 50
        let start = max(0, query.get("nextToken").flatMap { Int($0) } ?? 0)
        let models = options.models
        let page = models.dropFirst(start).prefix(pageSize)
        let next = start + page.count < models.count ? JSONValue.string(String(start + page.count)) : nil
        return TokenEndpoint.json(
            .ok,
            .object([
                "models": .array(page.map { ["modelId": .string($0), "modelName": .string($0), "description": "Simulated model"] }),
                "defaultModel": models.first.map { ["modelId": .string($0)] },
                "nextToken": next,
            ]))
    }
}
