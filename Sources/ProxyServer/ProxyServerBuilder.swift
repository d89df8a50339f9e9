import Accounts
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Translation
import Upstream

/// Builds the router every listener shares; routes read the runtime's settings per request, so a reload needs no new router.
package enum ProxyServerBuilder {
    package static func router(runtime: ProxyRuntime) -> Router<ProxyRequestContext> {
        let router = Router(context: ProxyRequestContext.self)
        let routes = RouteTable()
        router.add(middleware: RequestIDMiddleware(logger: runtime.logger, metrics: runtime.metrics, routes: routes, usage: runtime.usage))
        OpenAPIController().addRoutes(to: router)  // before the API-key middleware, which applies only to routes added after it: public
        router.add(middleware: APIKeyMiddleware(runtime: runtime))
        HealthController(runtime: runtime).addRoutes(to: router)
        MetricsController(runtime: runtime).addRoutes(to: router)
        for dialect in Dialects.all { addDialectRoutes(dialect, runtime: runtime, to: router) }
        ModelsController(runtime: runtime).addRoutes(to: router)
        ConsoleController(runtime: runtime).addRoutes(to: router)
        let admin = router.group("/v2").add(middleware: AdminGuardMiddleware(runtime: runtime))
        AccountsAdminController(runtime: runtime).addRoutes(to: admin)
        ConfigAdminController(runtime: runtime).addRoutes(to: admin)
        DeviceLoginController(runtime: runtime).addRoutes(to: admin)
        ImportAdminController(runtime: runtime).addRoutes(to: admin)
        UsageAdminController(runtime: runtime).addRoutes(to: admin)
        routes.record(router.routes)
        return router
    }
}
