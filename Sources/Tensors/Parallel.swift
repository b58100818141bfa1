import Dispatch

/// Splits row-wise work across the CPU cores, for elementwise and per-row kernels.
///
/// Each row is handled by exactly one thread with the same code, so results do not depend on the
/// number of threads. Small jobs run on the calling thread: below about 64k elements the
/// hand-off costs more than it saves.
public enum Parallel {
    /// The number of threads kernels split work over; follows OpenBLAS's thread count.
    public static var threads: Int { max(1, BLASRuntime.threadCount) }

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
