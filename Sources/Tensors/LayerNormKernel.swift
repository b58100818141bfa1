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
            for r in range {
                let xr = x + r * dim, yr = y + r * dim
                var s: Float = 0
                for i in 0..<dim { s += xr[i] }
                let m = s / Float(dim)
                var v: Float = 0
                for i in 0..<dim { let d = xr[i] - m; v += d * d }
                let rs = 1 / (v / Float(dim) + eps).squareRoot()
                for i in 0..<dim { yr[i] = (xr[i] - m) * rs * gamma[i] + beta[i] }
                mean[r] = m
                rstd[r] = rs
            }
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
            for r in range {
                let xr = x + r * dim, dyr = dy + r * dim, dxr = dx + r * dim
                let m = mean[r], rs = rstd[r]
                var sg: Float = 0, sgx: Float = 0
                for i in 0..<dim {
                    let g = dyr[i] * gamma[i]
                    sg += g
                    sgx += g * (xr[i] - m) * rs
                }
                let mg = sg / Float(dim), mgx = sgx / Float(dim)
                for i in 0..<dim {
                    let xh = (xr[i] - m) * rs
                    dxr[i] += rs * (dyr[i] * gamma[i] - mg - xh * mgx)
                }
            }
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
