import HTTPTypes
import Hummingbird
import Synchronization

/// The routes the router serves, by path pattern and method: a request that matches no route but whose path is
/// known is a 405 with `Allow`, not a 404.
///
/// Filled once the router is built (the middleware that reads it is added before the routes are).
package final class RouteTable: Sendable {
    private struct Route {
        var segments: [Substring]
        var methods: Set<String>
    }

    private let routes = Mutex<[Route]>([])

    package init() {}

    func record(_ descriptions: [Router<ProxyRequestContext>.RouteDescription]) {
        var byPath: [String: Set<String>] = [:]
        for route in descriptions { byPath["\(route.path)", default: []].insert(route.method.rawValue) }
        routes.withLock { $0 = byPath.map { Route(segments: Self.segments($0.key), methods: $0.value) } }
    }

    /// The methods served on `path` (empty: no route has this path).
    func methods(for path: String) -> [String] {
        let segments = Self.segments(path)
        let found = routes.withLock { routes in
            routes.filter { Self.matches($0.segments, segments) }.reduce(into: Set<String>()) { $0.formUnion($1.methods) }
        }
        return found.sorted()
    }

    private static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    private static func matches(_ pattern: [Substring], _ path: [Substring]) -> Bool {
        if pattern.last == "**" { return path.count >= pattern.count - 1 && zip(pattern.dropLast(), path).allSatisfy(segmentMatches) }
        return pattern.count == path.count && zip(pattern, path).allSatisfy(segmentMatches)
    }

    private static func segmentMatches(_ pattern: Substring, _ segment: Substring) -> Bool {
        pattern == segment || pattern.hasPrefix("{") || pattern.hasPrefix(":") || pattern == "*"
    }
}
