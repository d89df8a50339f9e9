import Foundation
import ProxyConfig

/// Reads state files: the latest record of each type, with a warning for each line that cannot be read.
///
/// Never fails: a torn last line (a crash in the middle of an append) or an invalid line anywhere else is skipped
/// with a warning naming the file and the line number, never the line's content (it may hold a token).
package enum StateFileParser {
    /// The file name extension of state files.
    package static let fileExtension = ".jsonl"

    /// The account id a state file name stands for: `main.jsonl` → `main`; `nil` for any other name (temporary
    /// files, ids that are not valid account ids).
    package static func accountID(fileName: String) -> String? {
        guard fileName.hasSuffix(fileExtension) else { return nil }
        let id = String(fileName.dropLast(fileExtension.count))
        return ProxyConfig.Account.isValidID(id) ? id : nil
    }

    /// The result of reading one file.
    struct Parsed {
        var snapshot: AccountStateSnapshot
        /// The latest valid line of each `type` (known or not), in file order: what compaction keeps.
        var latestLines: [ArraySlice<UInt8>]
    }

    /// Parses a state file's bytes.
    ///
    /// - Parameters:
    ///   - bytes: The file's content.
    ///   - accountID: The id the file belongs to.
    ///   - displayName: How warnings name the file (for example its path).
    /// - Returns: The snapshot (latest records, warnings, line count).
    package static func parse(_ bytes: [UInt8], accountID: String, displayName: String) -> AccountStateSnapshot {
        parseKeepingLines(bytes, accountID: accountID, displayName: displayName).snapshot
    }

    static func parseKeepingLines(_ bytes: [UInt8], accountID: String, displayName: String) -> Parsed {
        var snapshot = AccountStateSnapshot(accountID: accountID)
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // A file that ends with a newline has an empty last piece; a file whose last line lacks one ends with it.
        if lines.last?.isEmpty == true { lines.removeLast() }
        snapshot.lineCount = lines.count
        var latestByType: [String: Int] = [:]
        for (index, line) in lines.enumerated() {
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) {
                continue
            }
            let number = index + 1
            let decoded: StateRecord.DecodedLine
            do {
                decoded = try StateRecord.decodeLine(line)
            } catch {
                if index == lines.count - 1 {
                    snapshot.warnings.append("\(displayName):\(number): torn last line ignored (\(error))")
                } else {
                    snapshot.warnings.append("\(displayName):\(number): invalid line skipped (\(error))")
                }
                continue
            }
            switch decoded {
            case .record(let record):
                latestByType[record.type] = index
                switch record {
                case .token(let token): snapshot.token = token
                case .status(let status): snapshot.status = status
                case .stats(let stats): snapshot.stats = stats
                case .account(let account): snapshot.account = account
                }
            case .unknown(let type):
                latestByType[type] = index
            }
        }
        let kept = latestByType.values.sorted().map { lines[$0] }
        return Parsed(snapshot: snapshot, latestLines: kept)
    }

    /// Reads every `<id>.jsonl` file of a directory.
    ///
    /// - Parameter directory: The state directory. A missing directory holds no state.
    /// - Returns: A snapshot per account id. A file that cannot be read gives a snapshot with only a warning.
    package static func load(directory: String) -> [String: AccountStateSnapshot] {
        loadWithSignatures(directory: directory).mapValues(\.snapshot)
    }

    static func loadWithSignatures(directory: String) -> [String: (snapshot: AccountStateSnapshot, signature: FileSignature?)] {
        var result: [String: (snapshot: AccountStateSnapshot, signature: FileSignature?)] = [:]
        for name in StateFileIO.directoryEntries(directory, limit: StateDirectoryWatcher.defaultMaximumFiles) {
            guard let id = accountID(fileName: name) else { continue }
            let path = directory + "/" + name
            guard StateFileIO.signature(atPath: path) != nil else { continue }  // not a regular file
            do {
                let (bytes, signature) = try StateFileIO.readFile(path)
                result[id] = (parse(bytes, accountID: id, displayName: path), signature)
            } catch {
                result[id] = (AccountStateSnapshot(accountID: id, warnings: ["\(error)"]), nil)
            }
        }
        return result
    }
}
