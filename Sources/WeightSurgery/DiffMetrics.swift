// Sums that describe how tensor B differs from reference A, kept additive so per-tensor figures
// roll up into per-block ones exactly: ||B-A||, ||B-A||/||A||, cosine(A, B), max |B-A|.

public struct DiffSums: Equatable, Sendable {
  public var count = 0
  public var referenceSquares = 0.0  // sum a^2
  public var otherSquares = 0.0  // sum b^2
  public var dot = 0.0  // sum a*b
  public var differenceSquares = 0.0  // sum (b-a)^2, summed directly: no cancellation
  public var maxAbsDifference = 0.0
  /// Elements where a or b is NaN or infinite; they are left out of the sums.
  public var nonFinite = 0

  public init() {}

  /// ||B - A||
  public var l2: Double { differenceSquares.squareRoot() }
  /// ||B - A|| / ||A||; 0 when both are 0, nil (undefined) when only A is 0.
  public var relative: Double? {
    if referenceSquares > 0 { return l2 / referenceSquares.squareRoot() }
    return differenceSquares == 0 ? 0 : nil
  }
  /// cos(A, B); 1 when both are all zero, nil when only one is.
  public var cosine: Double? {
    if referenceSquares > 0, otherSquares > 0 {
      return min(1, max(-1, dot / (referenceSquares.squareRoot() * otherSquares.squareRoot())))
    }
    return referenceSquares == 0 && otherSquares == 0 ? 1 : nil
  }

  public static func + (lhs: DiffSums, rhs: DiffSums) -> DiffSums {
    var out = lhs
    out.count += rhs.count
    out.referenceSquares += rhs.referenceSquares
    out.otherSquares += rhs.otherSquares
    out.dot += rhs.dot
    out.differenceSquares += rhs.differenceSquares
    out.maxAbsDifference = max(lhs.maxAbsDifference, rhs.maxAbsDifference)
    out.nonFinite += rhs.nonFinite
    return out
  }

  /// Accumulates the pair (a, b) element by element. Partial sums run in Float over short chunks and
  /// are carried in Double, which keeps the relative error near 1e-6 at Float speed.
  public mutating func add(reference a: UnsafeBufferPointer<Float>, other b: UnsafeBufferPointer<Float>) {
    precondition(a.count == b.count)
    let chunk = 256
    var start = 0
    while start < a.count {
      let end = min(start + chunk, a.count)
      var saa: Float = 0, sbb: Float = 0, sab: Float = 0, sdd: Float = 0, maxAbs: Float = 0
      var bad = 0
      for i in start..<end {
        let x = a[i], y = b[i]
        if !x.isFinite || !y.isFinite {
          bad += 1
          continue
        }
        let d = y - x
        saa += x * x
        sbb += y * y
        sab += x * y
        sdd += d * d
        maxAbs = max(maxAbs, abs(d))
      }
      referenceSquares += Double(saa)
      otherSquares += Double(sbb)
      dot += Double(sab)
      differenceSquares += Double(sdd)
      maxAbsDifference = max(maxAbsDifference, Double(maxAbs))
      nonFinite += bad
      start = end
    }
    count += a.count
  }

  public mutating func add(reference a: [Float], other b: [Float]) {
    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in add(reference: pa, other: pb) } }
  }
}

/// The squared Frobenius norm of one buffer, accumulated the same way.
public func sumOfSquares(_ values: UnsafeBufferPointer<Float>) -> Double {
  var total = 0.0
  var start = 0
  while start < values.count {
    let end = min(start + 256, values.count)
    var s: Float = 0
    for i in start..<end where values[i].isFinite { s += values[i] * values[i] }
    total += Double(s)
    start = end
  }
  return total
}
