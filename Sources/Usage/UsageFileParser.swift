import Accounts
import ProxyConfig

/// Reads usage files: every whole record, with a warning for each line that cannot be read.
///
/// Never fails: a torn last line (a crash in the middle of an append) or an invalid line anywhere else is skipped
/// with a warning naming the file and the line number, never accepted and never quoted.
package enum UsageFileParser {
    /// The file name extension of usage files.
    package static let fileExtension = ".jsonl"
    /// The prefix of a shard's folder: `usage/shard-2/`.
    package static let shardFolderPrefix = "shard-"
    /// The most files or folders read from one folder.
    static let maximumEntries = 100_000

    /// The key name a usage file name stands for: `alice.jsonl` → `alice`; `nil` for any other name (temporary
    /// files, names that are not valid key names).
    package static func keyName(fileName: String) -> String? {
        guard fileName.hasSuffix(fileExtension) else { return nil }
        let name = String(fileName.dropLast(fileExtension.count))
        return ProxyConfig.Account.isValidID(name) ? name : nil
    }

    /// The result of reading a file.
    package struct Parsed: Sendable {
        package var records: [UsageRecord] = []
        package var warnings: [String] = []
        /// Lines in the file, the skipped ones included.
        package var lineCount = 0
    }

    /// Parses a usage file's bytes.
    ///
    /// - Parameters:
    ///   - bytes: The file's content.
    ///   - key: The key the file belongs to; a line naming another key is skipped.
    ///   - displayName: How warnings name the file (its path).
    package static func parse(_ bytes: [UInt8], key: String, displayName: String) -> Parsed {
        var parsed = Parsed()
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // A file that ends with a newline has an empty last piece; a file whose last line lacks one ends with it.
        if lines.last?.isEmpty == true { lines.removeLast() }
        parsed.lineCount = lines.count
        for (index, line) in lines.enumerated() {
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) { continue }
            let number = index + 1
            do {
                let record = try UsageRecord.decode(line: line)
                guard record.key == key else {
                    parsed.warnings.append("\(displayName):\(number): record of another key skipped")
                    continue
                }
                parsed.records.append(record)
            } catch {
                let what = index == lines.count - 1 ? "torn last line ignored" : "invalid line skipped"
                parsed.warnings.append("\(displayName):\(number): \(what) (\(error))")
            }
        }
        return parsed
    }

    /// The `<key>.jsonl` files under `<state_dir>/usage`: its own and those of every `shard-<i>/` folder (each
    /// instance of a sharded deployment writes its own), with the key each belongs to.
    package static func files(usageDirectory: String) -> [(path: String, key: String)] {
        var folders = [usageDirectory]
        for name in StateFileIO.directoryEntries(usageDirectory, limit: maximumEntries).sorted()
        where name.hasPrefix(shardFolderPrefix) && !name.dropFirst(shardFolderPrefix.count).isEmpty
            && name.dropFirst(shardFolderPrefix.count).allSatisfy(\.isNumber)
        {
            folders.append(usageDirectory + "/" + name)
        }
        var files: [(path: String, key: String)] = []
        for folder in folders {
            for name in StateFileIO.directoryEntries(folder, limit: maximumEntries).sorted() {
                guard let key = keyName(fileName: name) else { continue }
                let path = folder + "/" + name
                guard StateFileIO.signature(atPath: path) != nil else { continue }  // not a regular file
                files.append((path, key))
            }
        }
        return files
    }

    /// Reads every usage file under `<state_dir>/usage` (every shard's folder included).
    ///
    /// - Parameter usageDirectory: `<state_dir>/usage`; a missing one holds no usage.
    /// - Returns: The records of every file (not merged) and the warnings.
    package static func load(usageDirectory: String) -> Parsed {
        var result = Parsed()
        for (path, key) in files(usageDirectory: usageDirectory) {
            do {
                let (bytes, _) = try StateFileIO.readFile(path)
                let parsed = parse(bytes, key: key, displayName: path)
                result.records += parsed.records
                result.warnings += parsed.warnings
                result.lineCount += parsed.lineCount
            } catch {
                result.warnings.append("\(error)")
            }
        }
        return result
    }
}
