import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A read-only view of a SQLite database through the system's sqlite3 library, loaded at run time.
///
/// Why `dlopen` and not a link-time library: the release build is static (`--static-swift-stdlib`) and must
/// run where no sqlite3 is installed; only `q2api import` of a CLI database needs it, so its absence is one
/// clear error there and nothing anywhere else. The file is opened with `SQLITE_OPEN_READONLY`, never written,
/// never parsed by hand.
///
/// ```swift
/// let database = try SQLiteReader(path: "/home/me/.local/share/amazon-q/data.sqlite3")
/// let value = try database.text("SELECT value FROM auth_kv WHERE key = ?", "codewhisperer:odic:token")
/// ```
package final class SQLiteReader {
    private typealias Open = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<OpaquePointer?>, Int32, UnsafePointer<CChar>?) -> Int32
    private typealias Close = @convention(c) (OpaquePointer?) -> Int32
    private typealias Prepare =
        @convention(c) (
            OpaquePointer?, UnsafePointer<CChar>, Int32, UnsafeMutablePointer<OpaquePointer?>, UnsafeMutablePointer<UnsafePointer<CChar>?>?
        ) -> Int32
    private typealias BindText = @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>, Int32, OpaquePointer?) -> Int32
    private typealias Step = @convention(c) (OpaquePointer?) -> Int32
    private typealias ColumnText = @convention(c) (OpaquePointer?, Int32) -> UnsafePointer<UInt8>?
    private typealias Finalize = @convention(c) (OpaquePointer?) -> Int32
    private typealias ErrorMessage = @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    private typealias BusyTimeout = @convention(c) (OpaquePointer?, Int32) -> Int32

    /// The library's entry points: plain C function pointers, immutable once loaded.
    private struct Library: @unchecked Sendable {
        var open: Open
        var close: Close
        var prepare: Prepare
        var bindText: BindText
        var step: Step
        var columnText: ColumnText
        var finalize: Finalize
        var errorMessage: ErrorMessage
        var busyTimeout: BusyTimeout
    }

    private static let readOnly: Int32 = 0x0000_0001  // SQLITE_OPEN_READONLY
    private static let row: Int32 = 100  // SQLITE_ROW
    private static let done: Int32 = 101  // SQLITE_DONE
    private static let busy: Int32 = 5  // SQLITE_BUSY
    private static let locked: Int32 = 6  // SQLITE_LOCKED
    /// How long a statement waits for a CLI that is writing the database (SQLITE_BUSY) before giving up.
    private static let busyTimeoutMilliseconds: Int32 = 3000

    /// The library, loaded on first use and kept for the life of the process.
    private static let shared: Result<Library, ImportError> = Result { () throws(ImportError) -> Library in try loadLibrary() }

    private let library: Library
    private let handle: OpaquePointer
    private let path: String

    /// Opens `path` read-only (a relative path from the current directory).
    /// - Throws: ``ImportError`` `.sqliteUnavailable` when no sqlite3 library can be loaded, `.inUse` when the
    ///   database stays locked by its CLI, `.corrupt` when the file is not a database sqlite can open.
    package init(path: String) throws(ImportError) {
        let library = try Self.shared.get()
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var handle: OpaquePointer?
        let status = library.open(absolute, &handle, Self.readOnly, nil)
        guard status == 0, let handle else {
            let message = handle.flatMap { library.errorMessage($0) }.map { String(cString: $0) } ?? "code \(status)"
            _ = library.close(handle)
            throw Self.error(status, path: path, doing: "opened", message: message)
        }
        _ = library.busyTimeout(handle, Self.busyTimeoutMilliseconds)
        self.library = library
        self.handle = handle
        self.path = path
    }

    deinit {
        _ = library.close(handle)
    }

    /// The first column of the first row `sql` returns with `parameters` bound as text, or nil when there is no
    /// row (or the value is NULL).
    /// - Throws: ``ImportError`` `.corrupt` when sqlite refuses the statement (no such table, a damaged file).
    package func text(_ sql: String, _ parameters: String...) throws(ImportError) -> String? {
        var statement: OpaquePointer?
        let prepared = library.prepare(handle, sql, -1, &statement, nil)
        guard prepared == 0, let statement else {
            throw Self.error(prepared, path: path, doing: "read", message: lastError)
        }
        defer { _ = library.finalize(statement) }
        for (index, parameter) in parameters.enumerated() {
            // SQLITE_TRANSIENT ((sqlite3_destructor_type)-1): sqlite copies the bound text.
            _ = library.bindText(statement, Int32(index + 1), parameter, -1, OpaquePointer(bitPattern: -1))
        }
        let stepped = library.step(statement)
        switch stepped {
        case Self.row:
            return library.columnText(statement, 0).map { String(cString: $0) }
        case Self.done:
            return nil
        default:
            throw Self.error(stepped, path: path, doing: "read", message: lastError)
        }
    }

    /// A locked database (its CLI is writing it) is `.inUse`, worth a retry; anything else `.corrupt`.
    private static func error(_ status: Int32, path: String, doing: String, message: String) -> ImportError {
        let primary = status & 0xFF
        if primary == busy || primary == locked {
            return ImportError(
                .inUse,
                "\(path) is locked by the program that uses it (\(message)); retry in a moment, or close the Amazon Q / Kiro CLI first")
        }
        return ImportError(.corrupt, "\(path) could not be \(doing) as a SQLite database: \(message)")
    }

    private var lastError: String {
        library.errorMessage(handle).map { String(cString: $0) } ?? "unknown error"
    }

    // MARK: - Loading the library

    /// Loads the library (once per process, through ``shared``; the handle is never closed).
    private static func loadLibrary() throws(ImportError) -> Library {
        let names = ["libsqlite3.so.0", "libsqlite3.so", "/usr/lib/libsqlite3.dylib", "libsqlite3.dylib"]
        guard let handle = names.lazy.compactMap({ dlopen($0, RTLD_NOW | RTLD_LOCAL) }).first else {
            throw ImportError(
                .sqliteUnavailable,
                "reading a CLI database needs the system's sqlite3 library (libsqlite3.so.0), which is not installed "
                    + "(Debian/Ubuntu: apt-get install libsqlite3-0)")
        }
        func symbol<T>(_ name: String, as type: T.Type) throws(ImportError) -> T {
            guard let pointer = dlsym(handle, name) else {
                throw ImportError(.sqliteUnavailable, "the sqlite3 library has no \(name)")
            }
            return unsafeBitCast(pointer, to: type)
        }
        return Library(
            open: try symbol("sqlite3_open_v2", as: Open.self),
            close: try symbol("sqlite3_close_v2", as: Close.self),
            prepare: try symbol("sqlite3_prepare_v2", as: Prepare.self),
            bindText: try symbol("sqlite3_bind_text", as: BindText.self),
            step: try symbol("sqlite3_step", as: Step.self),
            columnText: try symbol("sqlite3_column_text", as: ColumnText.self),
            finalize: try symbol("sqlite3_finalize", as: Finalize.self),
            errorMessage: try symbol("sqlite3_errmsg", as: ErrorMessage.self),
            busyTimeout: try symbol("sqlite3_busy_timeout", as: BusyTimeout.self))
    }
}
