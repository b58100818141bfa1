import CKernels

/// GELU with the exact erf form (torch's default `approximate='none'`), fused with the bias add.
///
/// gelu(z) = z · Φ(z) = 0.5 · z · (1 + erf(z / √2)); gelu'(z) = Φ(z) + z · φ(z).
public enum GELUKernel {
  /// z = x + bias (row-broadcast), stored in `preActivation` (may be `x` itself); y = gelu(z).
  public static func biasForward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, preActivation: UnsafeMutablePointer<Float>,
    y: UnsafeMutablePointer<Float>, rows: Int, dim: Int
  ) {
    Parallel.forRows(rows, cost: dim * 8) { range in
      let o = range.lowerBound * dim
      kswap_gelu_rows(x + o, bias, preActivation + o, y + o, range.count, dim)
    }
  }

  /// dz = dy · gelu'(z), written (not added) into `dz`, which may be the same buffer as `dy`.
  public static func backward(
    dy: UnsafePointer<Float>, z: UnsafePointer<Float>, dz: UnsafeMutablePointer<Float>, count: Int
  ) {
    Parallel.forRows(count / 1024 + 1, cost: 1024 * 10) { range in
      let lo = range.lowerBound * 1024, hi = min(count, range.upperBound * 1024)
      if lo >= hi { return }
      kswap_gelu_backward(dy + lo, z + lo, dz + lo, hi - lo)
    }
  }
}

/// Row-broadcast bias and column sums, the pieces of a Linear layer that are not GEMMs.
public enum BiasKernel {
  /// y[r, i] += bias[i].
  public static func add(_ bias: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
    Parallel.forRows(rows, cost: dim) { range in
      for r in range {
        let yr = y + r * dim
        for i in 0..<dim { yr[i] += bias[i] }
      }
    }
  }

  /// out[i] += Σ_r x[r, i], rows in order (deterministic).
  public static func sumRows(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
    for r in 0..<rows {
      let xr = x + r * dim
      for i in 0..<dim { out[i] += xr[i] }
    }
  }
}
