import Tensors

/// A fully connected layer y = x Wᵀ + b, with an optional LoRA adapter, on row-major buffers.
///
/// Shapes: x (rows, in), y (rows, out), W (out, in) as in torch, b (out).
/// Backward needs the same `x` again (the caller keeps it). With an adapter, forward multiplies by
/// the merged W + s·B A (rebuilt on every call, a small product) instead of adding s·(x Aᵀ) Bᵀ to
/// the output, which would be a second pass over the (rows, out) output for a rank-r product;
/// backward reuses that matrix for dx, and the hidden x Aᵀ (rows, r) for dB.
public final class Linear {
  /// The module name, e.g. `blocks.0.mlp.fc1`.
  public let name: String
  /// W, shape (out, in).
  public let weight: Parameter
  /// b, shape (out), or nil.
  public let bias: Parameter?
  /// The LoRA adapter, if any.
  public var lora: LoRAAdapter?

  /// The input width.
  public var inFeatures: Int { weight.value.shape[1] }
  /// The output width.
  public var outFeatures: Int { weight.value.shape[0] }

  private let loraHidden = Buffer()  // (rows, r): x Aᵀ
  private let loraGradHidden = Buffer()  // (rows, r): s · dy B
  private let mergedWeight = Buffer()  // (out, in): W + s · B A of the last forward

  /// A layer with the given weight (out, in) and bias (out).
  public init(name: String, weight: Tensor, bias: Tensor?) {
    precondition(weight.rank == 2 && (bias == nil || bias!.count == weight.shape[0]), "Linear shapes")
    self.name = name
    self.weight = Parameter(name: name + ".weight", value: weight)
    self.bias = bias.map { Parameter(name: name + ".bias", value: $0) }
  }

  /// All parameters: weight, bias, then LoRA A and B.
  public var parameters: [Parameter] {
    [weight] + (bias.map { [$0] } ?? []) + (lora.map { [$0.a, $0.b] } ?? [])
  }

  /// Whether backward needs the input `x` again (some weight here is trainable).
  var needsInputForBackward: Bool {
    weight.isTrainable || lora.map { $0.a.isTrainable || $0.b.isTrainable } ?? false
  }

  /// y = x (W + s·B A)ᵀ (+ b when `addBias`).
  ///
  /// With `addBias: false` the caller adds the bias itself, fused into its next elementwise pass.
  /// `training: false` keeps nothing for backward.
  public func forward(
    x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, addBias: Bool = true, training: Bool = true
  ) {
    let (i, o) = (inFeatures, outFeatures)
    let w = currentWeight()
    if addBias, let bias {
      // Pre-fill y with the bias rows and let the product accumulate onto it.
      Parallel.forRows(rows, cost: o) { range in
        for r in range { (y + r * o).update(from: bias.value.pointer, count: o) }
      }
      BLAS.gemm(transB: true, m: rows, n: o, k: i, a: x, lda: i, b: w, ldb: i, beta: 1, c: y, ldc: o)
    } else {
      BLAS.gemm(transB: true, m: rows, n: o, k: i, a: x, lda: i, b: w, ldb: i, c: y, ldc: o)
    }
    if training, let lora, lora.b.isTrainable {
      // dB = s·dyᵀ (x Aᵀ) needs the hidden.
      let r = lora.rank
      BLAS.gemm(
        transB: true, m: rows, n: r, k: i, a: x, lda: i, b: lora.a.value.pointer, ldb: i,
        c: loraHidden.reserve(rows * r), ldc: r)
    }
  }

  /// W, or with an adapter W + s·B A rebuilt into `mergedWeight` from the current A and B.
  private func currentWeight() -> UnsafePointer<Float> {
    guard let lora else { return UnsafePointer(weight.value.pointer) }
    let count = outFeatures * inFeatures
    let merged = mergedWeight.reserve(count)
    merged.update(from: weight.value.pointer, count: count)
    addLoRAProduct(lora, into: merged)
    return UnsafePointer(merged)
  }

  /// w += s·B A, w (out, in).
  private func addLoRAProduct(_ lora: LoRAAdapter, into w: UnsafeMutablePointer<Float>) {
    BLAS.gemm(
      m: outFeatures, n: inFeatures, k: lora.rank, alpha: lora.scaling, a: lora.b.value.pointer,
      lda: lora.rank, b: lora.a.value.pointer, ldb: inFeatures, beta: 1, c: w, ldc: inFeatures)
  }

  /// Adds parameter gradients (trainable ones only) and writes or adds dx = dy (W + s·B A), the
  /// merged weight of the last forward.
  ///
  /// - Parameters:
  ///   - x: the forward input (rows, in); read only if some weight here is trainable.
  ///   - dx: where the input gradient goes, or nil when nobody needs it.
  ///   - accumulate: add into `dx` (a residual branch) instead of overwriting it.
  ///
  /// dW += dyᵀ x; db += Σ_rows dy; dB += s·dyᵀ h; dA += (s·dy B)ᵀ x, where h = x Aᵀ.
  public func backward(
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int,
    accumulate: Bool = false
  ) {
    let (i, o) = (inFeatures, outFeatures)
    if let g = weight.gradient {
      BLAS.gemm(transA: true, m: o, n: i, k: rows, a: dy, lda: o, b: x, ldb: i, beta: 1, c: g.pointer, ldc: i)
    }
    if let g = bias?.gradient { BiasKernel.sumRows(dy, into: g.pointer, rows: rows, dim: o) }
    if let lora {
      let r = lora.rank, s = lora.scaling
      if let g = lora.b.gradient {
        BLAS.gemm(
          transA: true, m: o, n: r, k: rows, alpha: s, a: dy, lda: o, b: loraHidden.pointer, ldb: r,
          beta: 1, c: g.pointer, ldc: r)
      }
      if let g = lora.a.gradient {
        let dh = loraGradHidden.reserve(rows * r)
        BLAS.gemm(m: rows, n: r, k: o, alpha: s, a: dy, lda: o, b: lora.b.value.pointer, ldb: r, c: dh, ldc: r)
        BLAS.gemm(transA: true, m: r, n: i, k: rows, a: dh, lda: r, b: x, ldb: i, beta: 1, c: g.pointer, ldc: i)
      }
    }
    if let dx {
      let w = lora == nil ? UnsafePointer(weight.value.pointer) : UnsafePointer(mergedWeight.pointer)
      BLAS.gemm(m: rows, n: i, k: o, a: dy, lda: o, b: w, ldb: i, beta: accumulate ? 1 : 0, c: dx, ldc: i)
    }
  }

  /// Folds s·B A into W and removes the adapter (for inference or export of merged weights).
  public func mergeLoRA() {
    guard let lora else { return }
    addLoRAProduct(lora, into: weight.value.pointer)
    self.lora = nil
    mergedWeight.release()
  }
}
