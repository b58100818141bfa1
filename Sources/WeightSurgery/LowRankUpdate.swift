// W' = W + sum_i factor_i * (B_i A_i) over float32 buffers: the arithmetic of kswap-merge.
// Each output row's delta is built in a scratch row first and added to W once, so merge and
// unmerge add and subtract bit-identical deltas.

/// One LoRA term for a weight of `rows` x `columns`: `a` is (rank x columns), `b` is (rows x rank),
/// `factor` is weight * scale (negated to unmerge).
public struct LowRankTerm: Sendable {
  public let rank: Int
  public let a: [Float]
  public let b: [Float]
  public let factor: Float

  public init(rank: Int, a: [Float], b: [Float], factor: Float) {
    self.rank = rank
    self.a = a
    self.b = b
    self.factor = factor
  }
}

public enum LowRankUpdate {
  /// Adds (sign +1) or subtracts (sign -1) the summed delta of `terms` to `weight` in place.
  /// Preconditions (checked by the caller against the files): every term's `a` has rank * columns
  /// elements and `b` rows * rank, and weight has rows * columns.
  public static func apply(
    _ terms: [LowRankTerm], to weight: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int, sign: Float = 1
  ) {
    precondition(weight.count == rows * columns)
    var delta = [Float](repeating: 0, count: columns)
    delta.withUnsafeMutableBufferPointer { d in
      for row in 0..<rows {
        for i in 0..<columns { d[i] = 0 }
        for term in terms {
          precondition(term.a.count == term.rank * columns && term.b.count == rows * term.rank)
          term.a.withUnsafeBufferPointer { a in
            for k in 0..<term.rank {
              let coefficient = term.factor * term.b[row * term.rank + k]
              if coefficient == 0 { continue }
              let aRow = a.baseAddress! + k * columns
              for i in 0..<columns { d[i] += coefficient * aRow[i] }
            }
          }
        }
        let wRow = weight.baseAddress! + row * columns
        if sign >= 0 {
          for i in 0..<columns { wRow[i] += d[i] }
        } else {
          for i in 0..<columns { wRow[i] -= d[i] }
        }
      }
    }
  }

  /// ||B A||_F computed from the r x r Gram matrices: ||BA||^2 = trace((B^T B)(A A^T)), in Double.
  public static func frobeniusNorm(rank r: Int, a: [Float], b: [Float], rows: Int, columns: Int) -> Double {
    var aat = [Double](repeating: 0, count: r * r)
    var btb = [Double](repeating: 0, count: r * r)
    for i in 0..<r {
      for j in i..<r {
        var s = 0.0
        for c in 0..<columns { s += Double(a[i * columns + c]) * Double(a[j * columns + c]) }
        aat[i * r + j] = s
        aat[j * r + i] = s
        var t = 0.0
        for o in 0..<rows { t += Double(b[o * r + i]) * Double(b[o * r + j]) }
        btb[i * r + j] = t
        btb[j * r + i] = t
      }
    }
    var trace = 0.0
    for i in 0..<r { for j in 0..<r { trace += btb[i * r + j] * aat[j * r + i] } }
    return max(trace, 0).squareRoot()
  }
}
