import Foundation
import NIOCore
import NIOHTTP1
import ProxyServer
import Testing
import Yams

/// The OpenAPI document (`Sources/ProxyServer/OpenAPI/openapi.yaml`, served at `/openapi.yaml`) against the router:
/// it parses, documents exactly the routes the router has, and its `security` says what the middleware does.
/// Tests/Conformance/test_openapi.py then checks the real binary's answers against it with schemathesis.
@Suite("The OpenAPI document")
struct OpenAPIDocumentTests {
    private static let adminKey = "admin-openapi-test"
    private static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// The parsed document.
    private static func document() throws -> [String: Any] {
        let text = String(buffer: OpenAPIController.document)
        let parsed = try #require(try Yams.load(yaml: text) as? [String: Any], "openapi.yaml is not a YAML mapping")
        return parsed
    }

    /// `METHOD /path` → the operation object.
    private static func operations(_ document: [String: Any]) throws -> [String: [String: Any]] {
        let paths = try #require(document["paths"] as? [String: Any], "no paths")
        var operations: [String: [String: Any]] = [:]
        for (path, item) in paths {
            let item = try #require(item as? [String: Any], "\(path) is not a mapping")
            for (method, operation) in item where methods.contains(method) {
                operations["\(method.uppercased()) \(path)"] = try #require(operation as? [String: Any], "\(method) \(path)")
            }
        }
        return operations
    }

    @Test("the served document is openapi.yaml as it is in the source tree (run scripts/embed-assets after editing it)")
    func embeddedIsCurrent() throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Sources/ProxyServer/OpenAPI/openapi.yaml")
        let file = try String(contentsOf: source, encoding: .utf8)
        #expect(String(buffer: OpenAPIController.document) == file, "openapi.yaml changed: run scripts/embed-assets")
    }

    @Test("GET /openapi.yaml serves the embedded document, as YAML, without a key")
    func servedWithoutKey() async throws {
        try await withProxy(extraYAML: "admin_keys: [\"\(Self.adminKey)\"]") { proxy in
            let reply = try await proxy.get("/openapi.yaml", headers: [])
            #expect(reply.status == 200)
            #expect(reply.headers.first(name: "content-type") == "application/yaml")
            #expect(reply.body == String(buffer: OpenAPIController.document))
            #expect(reply.headers.first(name: "request-id")?.hasPrefix("req_") == true)
        }
    }

    @Test("it is OpenAPI 3.1 and every $ref in it resolves")
    func parsesAndResolves() throws {
        let document = try Self.document()
        #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
        #expect((document["info"] as? [String: Any])?["title"] as? String == "q2api")
        var unresolved: [String] = []
        func walk(_ node: Any) {
            if let mapping = node as? [String: Any] {
                if let ref = mapping["$ref"] as? String {
                    var target: Any? = document
                    if ref.hasPrefix("#/") {
                        for key in ref.dropFirst(2).split(separator: "/") { target = (target as? [String: Any])?[String(key)] }
                    } else {
                        target = nil
                    }
                    if target == nil { unresolved.append(ref) }
                }
                for value in mapping.values { walk(value) }
            } else if let sequence = node as? [Any] {
                for value in sequence { walk(value) }
            }
        }
        walk(document)
        #expect(unresolved.isEmpty, "unresolved: \(unresolved)")
    }

    @Test("it documents exactly the routes the router has, each with security and responses")
    func documentsEveryRoute() async throws {
        let operations = try Self.operations(try Self.document())
        let routes = try await OpenAPIController.routerRoutes()
        #expect(routes.count > 20)  // the scratch router really was built
        let undocumented = Set(routes).subtracting(operations.keys).sorted()
        let unrouted = Set(operations.keys).subtracting(routes).sorted()
        #expect(undocumented.isEmpty, "routes missing from openapi.yaml: \(undocumented)")
        #expect(unrouted.isEmpty, "operations in openapi.yaml that no route serves: \(unrouted)")
        for (name, operation) in operations {
            #expect(operation["security"] is [Any], "\(name) does not say its security (use [] for a public route)")
            #expect(((operation["responses"] as? [String: Any])?.isEmpty) == false, "\(name) has no responses")
            #expect(operation["operationId"] is String, "\(name) has no operationId")
        }
    }

    @Test("its security matches the middleware: secured routes answer 401 without a key, public ones do not")
    func securityMatchesMiddleware() async throws {
        let cases = try Self.operations(try Self.document())
            .map { name, operation in
                // An empty requirement (`{}`) among others: a key is optional on this listener (/metrics on loopback).
                let requirements = (operation["security"] as? [Any]) ?? []
                let optional = requirements.contains { ($0 as? [String: Any])?.isEmpty == true }
                return (name: name, secured: !requirements.isEmpty && !optional)
            }
            .sorted { $0.name < $1.name }
        try await withProxy(extraYAML: "admin_keys: [\"\(Self.adminKey)\"]") { proxy in
            for (name, secured) in cases {
                let parts = name.split(separator: " ", maxSplits: 1)
                let method = String(parts[0])
                // Path parameters get a value no account or login has.
                let path = String(parts[1]).replacing(#/\{[^}]+\}/#, with: "no-such-id")
                // A body only where one is read; the request is refused before it is anyway when secured.
                let body: String? = method == "GET" || method == "DELETE" ? nil : "{}"
                let reply = try await proxy.request(method, path, body, headers: [])
                if secured {
                    #expect(reply.status == 401, "\(name) without a key: \(reply.status) \(reply.body.prefix(200))")
                } else {
                    #expect(reply.status != 401 && reply.status < 500, "\(name) without a key: \(reply.status) \(reply.body.prefix(200))")
                }
            }
        }
    }
}
