/// Bilinear resizing of a stack of planes, forward and backward, as PyTorch's
/// `F.interpolate(x, size=(H, W), mode="bilinear", align_corners=False)` (no antialias) computes it.
///
/// Shapes: x (P, h, w) planes in, y (P, H, W) out, row-major. The resize is separable: y_p = R · x_p · Cᵀ
/// with a row matrix R (H, h) and a column matrix C (W, w), each row holding an output pixel's two
/// interpolation weights. So forward is two matrix products, one over all planes at once (x · Cᵀ as a
/// (P·h, w) matrix) and one per plane (R · that), and backward is their transposes: dx_p = Rᵀ · dy_p · C.
/// The dense products do a few more multiplications than the two taps per axis need, and buy BLAS's
/// speed and one code path for up- and downsampling.
///
/// ```swift
/// let resize = BilinearResize(inputHeight: 4, inputWidth: 3, outputHeight: 16, outputWidth: 12)
/// resize.forward(x.pointer, planes: 5, into: y.pointer, scratch: scratch)  // scratch: resize.scratchCount(planes: 5)
/// ```
public struct BilinearResize: Sendable {
  public let inputHeight: Int, inputWidth: Int, outputHeight: Int, outputWidth: Int
  /// R (outputHeight, inputHeight), row-major.
  public let rowWeights: [Float]
  /// C (outputWidth, inputWidth), row-major.
  public let columnWeights: [Float]

  /// The resize from (inputHeight, inputWidth) to (outputHeight, outputWidth); every size positive.
  public init(inputHeight: Int, inputWidth: Int, outputHeight: Int, outputWidth: Int) {
    precondition(
      min(inputHeight, inputWidth, outputHeight, outputWidth) > 0,
      "bilinear resize of \(inputHeight)x\(inputWidth) to \(outputHeight)x\(outputWidth)")
    self.inputHeight = inputHeight
    self.inputWidth = inputWidth
    self.outputHeight = outputHeight
    self.outputWidth = outputWidth
    rowWeights = Self.weights(input: inputHeight, output: outputHeight)
    columnWeights = Self.weights(input: inputWidth, output: outputWidth)
  }

  /// The (output, input) interpolation matrix of one axis, in PyTorch's arithmetic (Float32,
  /// `area_pixel_compute_source_index` and `compute_indices_weights_linear`): output pixel i reads
  /// source position s = max((i + 0.5) · input / output - 0.5, 0), weight 1 - λ at floor(s) and λ = s -
  /// floor(s) at the next pixel, which is clamped to the last one (the weights then add on it).
  public static func weights(input: Int, output: Int) -> [Float] {
    var matrix = [Float](repeating: 0, count: output * input)
    let scale = Float(input) / Float(output)
    for i in 0..<output {
      let source = max(scale * (Float(i) + 0.5) - 0.5, 0)
      let lower = min(Int(source), input - 1)
      let lambda = min(max(source - Float(lower), 0), 1)
      let upper = lower < input - 1 ? lower + 1 : lower
      matrix[i * input + lower] += 1 - lambda
      matrix[i * input + upper] += lambda
    }
    return matrix
  }

  /// The floats of scratch space `forward` and `backward` need for `planes` planes.
  public func scratchCount(planes: Int) -> Int { planes * inputHeight * outputWidth }

  /// y = the resized planes of x; `scratch` holds `scratchCount(planes:)` floats (overwritten).
  public func forward(
    _ x: UnsafePointer<Float>, planes: Int, into y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (h, w, oh, ow) = (inputHeight, inputWidth, outputHeight, outputWidth)
    // scratch (P·h, W) = x (P·h, w) · Cᵀ.
    columnWeights.withUnsafeBufferPointer { c in
      BLAS.gemm(transB: true, m: planes * h, n: ow, k: w, a: x, lda: w, b: c.baseAddress!, ldb: w, c: scratch, ldc: ow)
    }
    // y_p (H, W) = R (H, h) · scratch_p (h, W), planes in parallel.
    rowWeights.withUnsafeBufferPointer { r in
      let r = r.baseAddress!
      Parallel.forRows(planes, cost: oh * ow * h) { range in
        for p in range {
          BLAS.gemmSerial(
            m: oh, n: ow, k: h, a: r, lda: h, b: scratch + p * h * ow, ldb: ow, c: y + p * oh * ow, ldc: ow)
        }
      }
    }
  }

  /// dx = d(loss)/dx for dy = d(loss)/dy, written (not added) into `dx`; `scratch` as in `forward`.
  public func backward(
    _ dy: UnsafePointer<Float>, planes: Int, into dx: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (h, w, oh, ow) = (inputHeight, inputWidth, outputHeight, outputWidth)
    // scratch_p (h, W) = Rᵀ (h, H) · dy_p (H, W), planes in parallel.
    rowWeights.withUnsafeBufferPointer { r in
      let r = r.baseAddress!
      Parallel.forRows(planes, cost: oh * ow * h) { range in
        for p in range {
          BLAS.gemmSerial(
            transA: true, m: h, n: ow, k: oh, a: r, lda: h, b: dy + p * oh * ow, ldb: ow, c: scratch + p * h * ow,
            ldc: ow)
        }
      }
    }
    // dx (P·h, w) = scratch (P·h, W) · C (W, w).
    columnWeights.withUnsafeBufferPointer { c in
      BLAS.gemm(m: planes * h, n: w, k: ow, a: scratch, lda: ow, b: c.baseAddress!, ldb: w, c: dx, ldc: w)
    }
  }
}
