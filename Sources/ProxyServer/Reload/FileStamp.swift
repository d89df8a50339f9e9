import Foundation

/// What `stat(2)` says about a file (symlinks followed): enough to tell that it was written, replaced or swapped.
struct FileStamp: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64
    var size: UInt64
    var modified: Double

    /// The file's stamp now; `nil` when it cannot be stat'ed.
    init?(path: String) {
        let resolved = (path as NSString).resolvingSymlinksInPath
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved) else { return nil }
        device = (attributes[.systemNumber] as? NSNumber)?.uint64Value ?? 0
        inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
        size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
        modified = (attributes[.modificationDate] as? Date)?.timeIntervalSinceReferenceDate ?? 0
    }
}
