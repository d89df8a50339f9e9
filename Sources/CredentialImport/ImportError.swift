/// Why credentials could not be imported. The message names the file and what is wrong with it, never a secret.
package struct ImportError: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable {
        /// The file (or database) is not there.
        case missingFile = "missing_file"
        /// The file is there but is not the JSON or SQLite it should be, or lacks a required member.
        case corrupt
        /// No source held credentials.
        case noCredentials = "no_credentials"
        /// The token service refused the imported refresh token (or client): nothing was written.
        case refused
        /// The token service could not be reached, or answered with a server error: nothing was written.
        case unreachable
        /// A CLI database stayed locked by the program writing it: retry later.
        case inUse = "in_use"
        /// Reading a SQLite database needs the system's sqlite3 library, which is missing.
        case sqliteUnavailable = "sqlite_unavailable"
        /// The account could not be written to the state directory.
        case stateDirectory = "state_directory"
    }

    package var kind: Kind
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}
