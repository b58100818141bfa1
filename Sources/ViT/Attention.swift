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
  /// The batch is split over the `Parallel` threads; each runs its heads' small products serially.
  ///
  /// - Parameters:
  ///   - qkvOut: (B·N, 3D) from the qkv projection.
  ///   - probs: (B, H, N, N), written; kept for backward.
  ///   - out: (B·N, D), the concatenated heads, written.
  func core(
    qkvOut: UnsafePointer<Float>, probs: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, batch: Int,
    tokens n: Int
  ) {
    let d = dim / heads, ld = 3 * dim, dim = dim, heads = heads
    let scale = 1 / Float(d).squareRoot()
    Parallel.forRows(batch, cost: 1 << 20) { range in
      for b in range {
        let base = qkvOut + b * n * ld
        for h in 0..<heads {
          let p = probs + (b * heads + h) * n * n
          BLAS.gemmSerial(
            transB: true, m: n, n: n, k: d, alpha: scale, a: base + h * d, lda: ld, b: base + dim + h * d,
            ldb: ld, c: p, ldc: n)
          SoftmaxKernel.forwardSerial(x: p, y: p, rows: n, dim: n)
          BLAS.gemmSerial(
            m: n, n: d, k: n, a: p, lda: n, b: base + 2 * dim + h * d, ldb: ld, c: out + b * n * dim + h * d,
            ldc: dim)
        }
      }
    }
  }

  /// Writes d(qkv) (B·N, 3D) from d(out) (B·N, D).
  ///
  /// With P = softmax(S), S = q kᵀ·c, o = P v: dP = do vᵀ; dv = Pᵀ do; dS = P ⊙ (dP - rowsum(dP ⊙ P));
  /// dq = c·dS k; dk = c·dSᵀ q. `scratch` holds threads·N·N floats (one N×N block per thread).
  func coreBackward(
    dOut: UnsafePointer<Float>, qkvOut: UnsafePointer<Float>, probs: UnsafePointer<Float>,
    dQKV: UnsafeMutablePointer<Float>, scratch: Buffer, batch: Int, tokens n: Int
  ) {
    let d = dim / heads, ld = 3 * dim, dim = dim, heads = heads
    let scale = 1 / Float(d).squareRoot()
    let chunks = max(1, min(Parallel.threads, batch))
    let scratchBase = scratch.reserve(chunks * n * n)
    Parallel.forChunks(chunks) { chunk in
      let ds = scratchBase + chunk * n * n
      for b in (batch * chunk / chunks)..<(batch * (chunk + 1) / chunks) {
        let base = qkvOut + b * n * ld, dBase = dQKV + b * n * ld
        for h in 0..<heads {
          let p = probs + (b * heads + h) * n * n
          let dO = dOut + b * n * dim + h * d
          let q = base + h * d, k = base + dim + h * d, v = base + 2 * dim + h * d
          BLAS.gemmSerial(transB: true, m: n, n: n, k: d, a: dO, lda: dim, b: v, ldb: ld, c: ds, ldc: n)
          BLAS.gemmSerial(
            transA: true, m: n, n: d, k: n, a: p, lda: n, b: dO, ldb: dim, c: dBase + 2 * dim + h * d, ldc: ld)
          SoftmaxKernel.backwardSerial(y: p, dy: ds, dx: ds, rows: n, dim: n)
          BLAS.gemmSerial(m: n, n: d, k: n, alpha: scale, a: ds, lda: n, b: k, ldb: ld, c: dBase + h * d, ldc: ld)
          BLAS.gemmSerial(
            transA: true, m: n, n: d, k: n, alpha: scale, a: ds, lda: n, b: q, ldb: ld,
            c: dBase + dim + h * d, ldc: ld)
        }
      }
    }
  }
}
