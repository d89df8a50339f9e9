#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The calendar time, for the few replies that carry epoch timestamps (`clientIdIssuedAt`,
/// `clientSecretExpiresAt`). Expiry checks use `ContinuousClock` instead, which does not jump.
///
/// Read from the C library to keep Foundation out of the module, like ``RandomIdentifier/uuid()``.
enum WallClock {
    /// Seconds since 1970-01-01T00:00:00Z.
    static func epochSeconds() -> Int {
        Int(time(nil))
    }
}
