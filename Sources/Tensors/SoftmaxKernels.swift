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
