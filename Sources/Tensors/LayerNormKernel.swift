import CKernels

/// Layer normalisation over the last dimension, forward and backward, on row-major buffers.
///
/// Shapes: x, y, dy, dx (rows, dim); gamma, beta, dgamma, dbeta (dim); mean, rstd (rows).
/// Matches `torch.nn.LayerNorm` (biased variance, eps inside the square root).
public enum LayerNormKernel {
  /// y = (x - mean) · rstd · gamma + beta; stores mean and rstd for the backward pass.
  public static func forward(
    x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
    y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
    rstd: UnsafeMutablePointer<Float>, rows: Int, dim: Int, eps: Float
  ) {
    Parallel.forRows(rows, cost: dim * 3) { range in
      let o = range.lowerBound
      kswap_layernorm_rows(
        x + o * dim, gamma, beta, y + o * dim, mean + o, rstd + o, range.count, dim, eps)
    }
  }

  /// Adds the input gradient to `dx`; adds parameter gradients to `dgamma`/`dbeta` when given.
  ///
  /// With x̂ = (x - mean)·rstd and g = dy·gamma:
  /// dx = rstd · (g - mean(g) - x̂ · mean(g · x̂)); dgamma = Σ_rows dy·x̂; dbeta = Σ_rows dy.
  /// `dx` may alias `dy`'s storage only if it is not also read elsewhere; here it never aliases.
  public static func backward(
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
    mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
    dgamma: UnsafeMutablePointer<Float>?, dbeta: UnsafeMutablePointer<Float>?,
    rows: Int, dim: Int
  ) {
    Parallel.forRows(rows, cost: dim * 4) { range in
      let o = range.lowerBound
      kswap_layernorm_backward_rows(
        dy + o * dim, x + o * dim, gamma, mean + o, rstd + o, dx + o * dim, range.count, dim)
    }
    // Parameter gradients reduce over rows: one pass, row order fixed, no threads (deterministic).
    if let dgamma, let dbeta {
      for r in 0..<rows {
        let xr = x + r * dim, dyr = dy + r * dim
        let m = mean[r], rs = rstd[r]
        for i in 0..<dim {
          dgamma[i] += dyr[i] * (xr[i] - m) * rs
          dbeta[i] += dyr[i]
        }
      }
    }
  }
}
