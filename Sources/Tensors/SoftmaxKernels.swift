/// Softmax over the last dimension and the cross-entropy loss on logits.
public enum SoftmaxKernel {
    /// y = softmax(x) row by row; `y` may be `x`.
    public static func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
        Parallel.forRows(rows, cost: dim * 6) { range in
            for r in range { row(x + r * dim, y + r * dim, dim) }
        }
    }

    /// Softmax of `rows` rows on the calling thread (for callers already running in parallel).
    public static func forwardSerial(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
        for r in 0..<rows { row(x + r * dim, y + r * dim, dim) }
    }

    /// The backward pass on the calling thread; `dx` may be `dy`.
    public static func backwardSerial(
        y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int, dim: Int
    ) {
        for r in 0..<rows {
            let yr = y + r * dim, dyr = dy + r * dim, dxr = dx + r * dim
            var s: Float = 0
            for i in 0..<dim { s += yr[i] * dyr[i] }
            for i in 0..<dim { dxr[i] = yr[i] * (dyr[i] - s) }
        }
    }

    @inlinable @inline(__always)
    static func row(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ dim: Int) {
        var m = -Float.infinity
        for i in 0..<dim { m = max(m, x[i]) }
        var s: Float = 0
        var i = 0
        var lanes = Lanes8()
        while i + 8 <= dim {
            let e = FastMath.exp(FastMath.load(x + i) - m)
            FastMath.store(e, y + i)
            lanes += e
            i += 8
        }
        s = lanes.sum()
        while i < dim { let e = FastMath.exp(x[i] - m); y[i] = e; s += e; i += 1 }
        let inv = 1 / s
        for i in 0..<dim { y[i] *= inv }
    }

    /// dx = y ⊙ (dy - Σ dy·y) row by row, written into `dx` (which may be `dy`).
    public static func backward(
        y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int, dim: Int
    ) {
        Parallel.forRows(rows, cost: dim * 3) { range in
            for r in range {
                let yr = y + r * dim, dyr = dy + r * dim, dxr = dx + r * dim
                var s: Float = 0
                for i in 0..<dim { s += yr[i] * dyr[i] }
                for i in 0..<dim { dxr[i] = yr[i] * (dyr[i] - s) }
            }
        }
    }
}

/// Mean cross-entropy of logits against integer labels, as `torch.nn.functional.cross_entropy`.
public enum CrossEntropy {
    /// Returns the batch-mean loss and writes d(loss)/d(logits) into `dLogits` when given.
    ///
    /// logits (batch, classes); labels in 0..<classes (checked by the caller). The loss uses
    /// log-sum-exp in Double for each row; the gradient is (softmax - onehot) / batch · scale.
    public static func loss(
        logits: Tensor, labels: [Int], dLogits: Tensor? = nil, scale: Float = 1
    ) -> Float {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count, "cross-entropy shapes")
        let b = logits.shape[0], c = logits.shape[1]
        var total = 0.0
        for r in 0..<b {
            let row = logits.pointer + r * c
            var m = -Float.infinity
            for i in 0..<c { m = max(m, row[i]) }
            var s = 0.0
            for i in 0..<c { s += Foundation_exp(Double(row[i] - m)) }
            let lse = Double(m) + Foundation_log(s)
            precondition(labels[r] >= 0 && labels[r] < c, "label \(labels[r]) out of 0..<\(c)")
            total += lse - Double(row[labels[r]])
            if let dLogits {
                let d = dLogits.pointer + r * c
                let k = scale / Float(b)
                for i in 0..<c { d[i] = Float(Foundation_exp(Double(row[i]) - lse)) * k }
                d[labels[r]] -= k
            }
        }
        return Float(total / Double(b))
    }
}
