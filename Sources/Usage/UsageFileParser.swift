import Accounts
import ProxyConfig

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

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
    ///   - from: When set, the lines of UTC days before the one holding this time are skipped without being parsed
    ///     (recognised by their first bytes, `{"hour":"YYYY-MM-DD`, as the writer starts every line); a line that
    ///     does not start like that is parsed in full. Records of earlier hours of that day may still be returned.
    package static func parse(_ bytes: [UInt8], key: String, displayName: String, from: Int64? = nil) -> Parsed {
        let lead = Array(#"{"hour":""#.utf8)
        let firstDate = from.map { Array(UsageHour.format(UsageHour.dayStart(of: $0)).utf8.prefix(10)) }
        var parsed = Parsed()
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // A file that ends with a newline has an empty last piece; a file whose last line lacks one ends with it.
        if lines.last?.isEmpty == true { lines.removeLast() }
        parsed.lineCount = lines.count
        for (index, line) in lines.enumerated() {
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) { continue }
            let number = index + 1
            if let firstDate, line.count > lead.count + firstDate.count, line.starts(with: lead),
                line.dropFirst(lead.count).prefix(firstDate.count).lexicographicallyPrecedes(firstDate)
            {
                continue
            }
            do {
                let record = try UsageRecord.decode(line: line)
                guard record.key == key else {
                    parsed.warnings.append("\(displayName):\(number): record of another key skipped")
                    continue
                }
                parsed.records.append(record)
            } catch {
                // Only a last line without its newline can be a torn append; any other is corrupt.
                let what = index == lines.count - 1 && bytes.last != UInt8(ascii: "\n") ? "torn last line ignored" : "invalid line skipped"
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

    /// Input plus output tokens of each key in the UTC day starting at `day` (Unix seconds), from every usage file
    /// under `usageDirectory`: the `tokens_per_day` seed at startup, before the listeners bind.
    ///
    /// Only that day's lines are parsed. The writer starts every line with `{"hour":"YYYY-MM-DD`, so a line of
    /// another day is skipped by comparing those first 19 bytes; a line that does not start like that (edited by
    /// hand) is parsed in full, and skipped if it is not a record.
    ///
    /// - Parameter problems: Receives the files that could not be read (their tokens are missing).
    /// - Returns: The tokens by key name, each at most ``UsageCounts/maximumCount``; keys without a line that day
    ///   are left out.
    package static func tokens(usageDirectory: String, day: Int64, problems: inout [String]) -> [String: Int] {
        let lead = Array(#"{"hour":""#.utf8)
        let date = Array(UsageHour.format(day).utf8.prefix(10))
        var tokens: [String: Int] = [:]
        for (path, key) in files(usageDirectory: usageDirectory) {
            let bytes: [UInt8]
            do {
                bytes = try StateFileIO.readFile(path).bytes
            } catch {
                problems.append("\(error)")
                continue
            }
            guard let sum = bytes.withUnsafeBufferPointer({ dayTokens(in: $0, key: key, day: day, lead: lead, date: date) }) else { continue }
            tokens[key] = min(UsageCounts.maximumCount, UsageCounts.add(tokens[key] ?? 0, sum))
        }
        return tokens
    }

    /// The tokens of `key`'s records in the day starting at `day`, or `nil` when the file has none that day.
    private static func dayTokens(in buffer: UnsafeBufferPointer<UInt8>, key: String, day: Int64, lead: [UInt8], date: [UInt8]) -> Int? {
        guard let base = buffer.baseAddress else { return nil }
        var sum: Int?
        var start = 0
        while start < buffer.count {
            var end = buffer.count
            if let newline = memchr(base + start, Int32(UInt8(ascii: "\n")), buffer.count - start) {
                end = UnsafeRawPointer(newline) - UnsafeRawPointer(base)
            }
            defer { start = end + 1 }
            if end - start >= lead.count + date.count, memcmp(base + start, lead, lead.count) == 0,
                memcmp(base + start + lead.count, date, date.count) != 0
            {
                continue
            }
            let line = UnsafeBufferPointer(rebasing: buffer[start..<end])
            guard let record = try? UsageRecord.decode(line: line), record.key == key, record.hour >= day,
                record.hour < day + UsageHour.secondsPerDay
            else { continue }
            sum = UsageCounts.add(sum ?? 0, record.counts.tokens)
        }
        return sum
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
