import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ProxyModels

/// One model an account may use, as `ListAvailableModels` reports it.
package struct UpstreamModel: Sendable, Equatable {
    package var id: String
    package var name: String?

    package init(id: String, name: String? = nil) {
        self.id = id
        self.name = name
    }
}

extension AmazonQClient {
    /// The most pages of models read from one account (50 models a page).
    static let maximumModelPages = 5

    /// `GET /ListAvailableModels`: the models this account may use.
    ///
    /// The operation is not in the protocol notes' captures; its shape comes from public clients of the same
    /// service (Kiro IDE proxies): `GET {endpoint}ListAvailableModels?origin=AI_EDITOR&maxResults=50`, with
    /// `profileArn` for organisation accounts and `nextToken` for further pages, answered by
    /// `{"models":[{"modelId","modelName",...}],"defaultModel":{...},"nextToken"}`. README "Model discovery".
    package func listAvailableModels(
        endpoint: String, accessToken: String, profileARN: String?, logger: Logger
    ) async throws(QUpstreamFailure) -> [UpstreamModel] {
        var models: [UpstreamModel] = []
        var nextToken: String?
        for _ in 0..<Self.maximumModelPages {
            guard var components = URLComponents(string: endpoint) else {
                throw QUpstreamFailure(
                    kind: .badRequest, status: nil, name: "ListAvailableModels", reason: nil, message: "invalid endpoint \(endpoint)")
            }
            let base = components.path.hasSuffix("/") ? components.path : components.path + "/"
            components.path = base + "ListAvailableModels"
            var query = [URLQueryItem(name: "origin", value: "AI_EDITOR"), URLQueryItem(name: "maxResults", value: "50")]
            if let profileARN, !profileARN.isEmpty { query.append(URLQueryItem(name: "profileArn", value: profileARN)) }
            if let nextToken { query.append(URLQueryItem(name: "nextToken", value: nextToken)) }
            components.queryItems = query
            guard let url = components.string else {
                throw QUpstreamFailure(
                    kind: .badRequest, status: nil, name: "ListAvailableModels", reason: nil, message: "invalid endpoint \(endpoint)")
            }

            var request = HTTPClientRequest(url: url)
            request.method = .GET
            request.headers.add(name: "accept", value: "application/json")
            request.headers.add(name: "authorization", value: "Bearer \(accessToken)")
            let body: [UInt8]
            let status: Int
            do {
                let response = try await http.client.execute(request, timeout: .seconds(30), logger: logger.forHTTPClient)
                var collected = try await response.body.collect(upTo: 1024 * 1024)
                body = collected.readBytes(length: collected.readableBytes) ?? []
                status = Int(response.status.code)
                if status != 200 {
                    throw QUpstreamFailure.fromHTTP(
                        status: status, body: body, errorTypeHeader: response.headers.first(name: "x-amzn-errortype"), retryAfter: nil)
                }
            } catch let failure as QUpstreamFailure {
                throw failure
            } catch {
                throw Self.networkFailure(error)
            }
            guard let document = try? JSONParser.parse(body), let items = document["models"]?.arrayValue else {
                throw QUpstreamFailure(
                    kind: .badRequest, status: nil, name: "ListAvailableModels", reason: nil,
                    message: "ListAvailableModels answered without a models list")
            }
            for item in items {
                guard let id = item["modelId"]?.stringValue, !id.isEmpty, !models.contains(where: { $0.id == id }) else { continue }
                models.append(UpstreamModel(id: id, name: item["modelName"]?.stringValue))
            }
            nextToken = document["nextToken"]?.stringValue
            if nextToken?.isEmpty ?? true { break }
        }
        return models
    }
}
