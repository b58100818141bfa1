import Tensors

/// Multi-head self-attention with a fused qkv projection, as timm's `Attention`.
///
/// Shapes (B batch, N tokens, D width, H heads, d = D/H): input (B·N, D); qkv (B·N, 3D) laid out
/// per token as [q | k | v], each head h at columns h·d..<(h+1)·d; probabilities (B, H, N, N);
/// the heads' outputs concatenated (B·N, D); then `proj`. Each head's q, k, v are read in place
/// through strided GEMMs, so nothing is transposed or copied.
public final class Attention {
    /// The qkv projection, D → 3D.
    public let qkv: Linear
    /// The output projection, D → D.
    public let proj: Linear
    /// The number of heads.
    public let heads: Int

    init(qkv: Linear, proj: Linear, heads: Int) {
        precondition(qkv.outFeatures == 3 * qkv.inFeatures && qkv.inFeatures % heads == 0, "attention shapes")
        self.qkv = qkv
        self.proj = proj
        self.heads = heads
    }

    var dim: Int { proj.outFeatures }
    var parameters: [Parameter] { qkv.parameters + proj.parameters }

    /// softmax(q kᵀ / √d) v for every batch element and head.
    ///
    /// - Parameters:
    ///   - qkvOut: (B·N, 3D) from the qkv projection.
    ///   - probs: (B, H, N, N), written; kept for backward.
    ///   - out: (B·N, D), the concatenated heads, written.
    func core(qkvOut: UnsafePointer<Float>, probs: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, batch: Int, tokens n: Int) {
        let d = dim / heads, ld = 3 * dim
        let scale = 1 / Float(d).squareRoot()
        for b in 0..<batch {
            let base = qkvOut + b * n * ld
            for h in 0..<heads {
                let s = probs + (b * heads + h) * n * n
                BLAS.gemm(
                    transB: true, m: n, n: n, k: d, alpha: scale, a: base + h * d, lda: ld, b: base + dim + h * d,
                    ldb: ld, c: s, ldc: n)
            }
        }
        SoftmaxKernel.forward(x: probs, y: probs, rows: batch * heads * n, dim: n)
        for b in 0..<batch {
            let base = qkvOut + b * n * ld
            for h in 0..<heads {
                let p = probs + (b * heads + h) * n * n
                BLAS.gemm(
                    m: n, n: d, k: n, a: p, lda: n, b: base + 2 * dim + h * d, ldb: ld, c: out + b * n * dim + h * d,
                    ldc: dim)
            }
        }
    }

    /// Writes d(qkv) (B·N, 3D) from d(out) (B·N, D).
    ///
    /// With P = softmax(S), S = q kᵀ·c, o = P v: dP = do vᵀ; dv = Pᵀ do; dS = P ⊙ (dP - rowsum(dP ⊙ P));
    /// dq = c·dS k; dk = c·dSᵀ q. `scratch` holds N·N floats.
    func coreBackward(
        dOut: UnsafePointer<Float>, qkvOut: UnsafePointer<Float>, probs: UnsafePointer<Float>,
        dQKV: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, batch: Int, tokens n: Int
    ) {
        let d = dim / heads, ld = 3 * dim
        let scale = 1 / Float(d).squareRoot()
        for b in 0..<batch {
            let base = qkvOut + b * n * ld, dBase = dQKV + b * n * ld
            for h in 0..<heads {
                let p = probs + (b * heads + h) * n * n
                let dO = dOut + b * n * dim + h * d
                let q = base + h * d, k = base + dim + h * d, v = base + 2 * dim + h * d
                BLAS.gemm(transB: true, m: n, n: n, k: d, a: dO, lda: dim, b: v, ldb: ld, c: scratch, ldc: n)
                BLAS.gemm(transA: true, m: n, n: d, k: n, a: p, lda: n, b: dO, ldb: dim, c: dBase + 2 * dim + h * d, ldc: ld)
                SoftmaxKernel.backward(y: p, dy: scratch, dx: scratch, rows: n, dim: n)
                BLAS.gemm(m: n, n: d, k: n, alpha: scale, a: scratch, lda: n, b: k, ldb: ld, c: dBase + h * d, ldc: ld)
                BLAS.gemm(
                    transA: true, m: n, n: d, k: n, alpha: scale, a: scratch, lda: n, b: q, ldb: ld,
                    c: dBase + dim + h * d, ldc: ld)
            }
        }
    }
}
