import FoundationEssentials
import TaskShimCore

/// One batch read from a result: the columns, up to the requested number of rows, and whether the
/// result is exhausted.
typealias RowBatch = (columns: [String], rows: [SQLRow], done: Bool)

/// The cursor both databases hand out: it asks its source for a batch at a time and remembers the
/// columns and whether the result is finished. `release` runs once when the cursor goes away (free
/// the statement, or drain an unread result so the connection is usable again).
final class BatchCursor: SQLRowCursor, Sendable {
    private let fetch: @Sendable (Int) async throws -> RowBatch
    private let release: @Sendable (_ finished: Bool) -> Void
    private let lock = Lock()
    nonisolated(unsafe) private var knownColumns: [String]
    nonisolated(unsafe) private var finished = false

    init(columns: [String] = [], fetch: @escaping @Sendable (Int) async throws -> RowBatch,
         release: @escaping @Sendable (_ finished: Bool) -> Void) {
        self.knownColumns = columns
        self.fetch = fetch
        self.release = release
    }

    deinit {
        release(finished)
    }

    var columns: [String] {
        lock.withLock { knownColumns }
    }

    func next(max: Int) async throws -> [SQLRow] {
        if lock.withLock({ finished }) { return [] }
        do {
            let batch = try await fetch(max)
            lock.withLock {
                if !batch.columns.isEmpty { knownColumns = batch.columns }
                if batch.done { finished = true }
            }
            return batch.rows
        } catch {
            lock.withLock { finished = true }
            throw error
        }
    }
}
