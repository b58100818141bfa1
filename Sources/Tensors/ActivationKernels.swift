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
            for r in range {
                let xr = x + r * dim, zr = preActivation + r * dim, yr = y + r * dim
                if let bias {
                    for i in 0..<dim { zr[i] = xr[i] + bias[i] }
                } else if UnsafePointer(zr) != xr {
                    zr.update(from: xr, count: dim)
                }
                geluRow(UnsafePointer(zr), yr, dim)
            }
        }
    }

    /// y = gelu(z) for `count` elements, without a bias (recomputing a stored pre-activation).
    public static func forward(z: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forRows(count / 1024 + 1, cost: 1024 * 8) { range in
            let lo = range.lowerBound * 1024, hi = min(count, range.upperBound * 1024)
            if lo >= hi { return }
            geluRow(z + lo, y + lo, hi - lo)
        }
    }

    /// dz = dy · gelu'(z), written (not added) into `dz`, which may be the same buffer as `dy`.
    public static func backward(
        dy: UnsafePointer<Float>, z: UnsafePointer<Float>, dz: UnsafeMutablePointer<Float>, count: Int
    ) {
        Parallel.forRows(count / 1024 + 1, cost: 1024 * 10) { range in
            let lo = range.lowerBound * 1024, hi = min(count, range.upperBound * 1024)
            if lo >= hi { return }
            var i = lo
            while i + 8 <= hi {
                let v = FastMath.load(z + i)
                let (erf, g) = FastMath.erfAndGaussian(v * 0.70710678118654752)
                let slope = 0.5 * (1 + erf) + v * (0.3989422804014327 * g)
                FastMath.store(FastMath.load(dy + i) * slope, dz + i)
                i += 8
            }
            while i < hi {
                let v = z[i]
                let cdf = 0.5 * (1 + FastMath.erf(v * 0.70710678118654752))
                let pdf = 0.3989422804014327 * FastMath.exp(-0.5 * v * v)
                dz[i] = dy[i] * (cdf + v * pdf)
                i += 1
            }
        }
    }
}

/// y = gelu(z) for n elements, eight lanes at a time.
@inlinable @inline(__always)
func geluRow(_ z: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    while i + 8 <= n {
        let v = FastMath.load(z + i)
        FastMath.store(0.5 * v * (1 + FastMath.erfAndGaussian(v * 0.70710678118654752).erf), y + i)
        i += 8
    }
    while i < n {
        let v = z[i]
        y[i] = 0.5 * v * (1 + FastMath.erf(v * 0.70710678118654752))
        i += 1
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
