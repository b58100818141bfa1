import CKernels

/// Softmax over the last dimension and the cross-entropy loss on logits.
public enum SoftmaxKernel {
  /// y = softmax(x) row by row; `y` may be `x`.
  public static func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
    Parallel.forRows(rows, cost: dim * 6) { range in
      let o = range.lowerBound * dim
      kswap_softmax_rows(x + o, y + o, range.count, dim)
    }
  }

  /// y = eˣ element by element on the calling thread (the softmax's exp: 2 ulp, 0 below -87.3); `y` may
  /// be `x`.
  public static func exp(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    kswap_exp(x, y, count)
  }

  /// Softmax of `rows` rows on the calling thread (for callers already running in parallel).
  public static func forwardSerial(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
    kswap_softmax_rows(x, y, rows, dim)
  }

  /// The backward pass on the calling thread; `dx` may be `dy`.
  public static func backwardSerial(
    y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int, dim: Int
  ) {
    kswap_softmax_backward_rows(y, dy, dx, rows, dim)
  }

  /// dx = y ⊙ (dy - Σ dy·y) row by row, written into `dx` (which may be `dy`).
  public static func backward(
    y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int, dim: Int
  ) {
    Parallel.forRows(rows, cost: dim * 3) { range in
      let o = range.lowerBound * dim
      kswap_softmax_backward_rows(y + o, dy + o, dx + o, range.count, dim)
    }
  }
}
