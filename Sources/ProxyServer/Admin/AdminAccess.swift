/// Which paths belong to the admin surface (the `/v2` API and the console), guarded by
/// `admin_keys` instead of `api_keys`.
enum AdminAccess {
    static func isAdminPath(_ path: String) -> Bool {
        path == "/" || path == "/console" || path.hasPrefix("/v2/")
    }
}
