import Dispatch

/// Splits row-wise work across the CPU cores, for elementwise and per-row kernels.
///
/// Each row is handled by exactly one thread with the same code, so results do not depend on the
/// number of threads. Small jobs run on the calling thread: below about 64k elements the
/// hand-off costs more than it saves.
public enum Parallel {
  /// The number of threads work is split over (OpenBLAS's count at start-up unless set).
  public static var threads: Int {
    if let chosen = chosenThreads { return chosen }
    return BLASRuntime.initialThreads
  }

  nonisolated(unsafe) private static var chosenThreads: Int?

  /// Sets the thread count (at least 1); call before starting work, not during it.
  public static func setThreads(_ n: Int) {
    _ = BLASRuntime.initialThreads  // OpenBLAS goes single-threaded either way
    chosenThreads = max(1, n)
  }

  /// Calls `body(i)` for i in 0..<chunks, in parallel.
  public static func forChunks(_ chunks: Int, _ body: (Int) -> Void) {
    if chunks <= 1 {
      if chunks == 1 { body(0) }
      return
    }
    withoutActuallyEscaping(body) { body in
      let shared = UncheckedSendable(body)
      DispatchQueue.concurrentPerform(iterations: chunks) { shared.value($0) }
    }
  }

  /// Calls `body` on disjoint sub-ranges covering `0..<rows`, in parallel when `rows * cost` is big.
  ///
  /// - Parameter cost: roughly the elements touched per row, to decide whether splitting pays.
  @inlinable
  public static func forRows(_ rows: Int, cost: Int, _ body: (Range<Int>) -> Void) {
    let t = threads
    if t == 1 || rows < 2 || rows * cost < 65_536 {
      body(0..<rows)
      return
    }
    let chunks = min(t, rows)
    withoutActuallyEscaping(body) { body in
      let shared = UncheckedSendable(body)
      DispatchQueue.concurrentPerform(iterations: chunks) { i in
        shared.value((rows * i / chunks)..<(rows * (i + 1) / chunks))
      }
    }
  }
}

/// Lets a closure over raw buffers cross into `concurrentPerform`; the callers split the buffers
/// into disjoint row ranges, which is what makes this safe.
@usableFromInline
struct UncheckedSendable<T>: @unchecked Sendable {
  @usableFromInline let value: T
  @usableFromInline init(_ value: T) { self.value = value }
}
