import Tensors

/// The token embedding: patches through a stride-p convolution (one GEMM over im2col), the class
/// token in front, then the learned position embedding.
///
/// Shapes: images (B, C, H, W); patch weight (D, C, p, p) as torch's Conv2d; tokens (B, N, D) with
/// N = 1 + (H/p)(W/p). The position table `pos_embed` (1, 1 + G·G, D) holds a G×G grid; inputs of
/// another grid size use it resized bicubically (a = -0.75, half-pixel centres, edge clamp), as
/// timm's `resample_abs_pos_embed` and DINOv2's `interpolate_pos_encoding` do.
public final class Embedding {
  /// `patch_embed.proj.weight` (D, C, p, p).
  public let patchWeight: Parameter
  /// `patch_embed.proj.bias` (D).
  public let patchBias: Parameter
  /// `cls_token` (1, 1, D).
  public let classToken: Parameter
  /// `pos_embed` (1, 1 + G·G, D).
  public let positions: Parameter

  let patch: Int, channels: Int, dim: Int, grid: Int
  private let columns = Buffer()  // im2col (B·P, C·p·p)
  private let resized = Buffer()  // position rows for the current grid (P, D)
  private var resizedFor: (Int, Int)?  // the grid `resized` holds, if up to date
  private var lastShape = (batch: 0, gh: 0, gw: 0)

  init(patchWeight: Tensor, patchBias: Tensor, classToken: Tensor, positions: Tensor) {
    self.patchWeight = Parameter(name: "patch_embed.proj.weight", value: patchWeight)
    self.patchBias = Parameter(name: "patch_embed.proj.bias", value: patchBias)
    self.classToken = Parameter(name: "cls_token", value: classToken)
    self.positions = Parameter(name: "pos_embed", value: positions)
    dim = patchWeight.shape[0]
    channels = patchWeight.shape[1]
    patch = patchWeight.shape[2]
    let cells = positions.count / dim - 1
    grid = Int(Double(cells).squareRoot().rounded())
    precondition(grid * grid == cells, "pos_embed holds \(cells) patch positions, not a square grid")
  }

  var parameters: [Parameter] { [classToken, positions, patchWeight, patchBias] }

  /// Writes tokens (B, N, D) for images (B, C, H, W); H and W must be multiples of the patch.
  func forward(images: UnsafePointer<Float>, batch: Int, height: Int, width: Int, tokens: UnsafeMutablePointer<Float>) {
    let p = patch, c = channels, d = dim
    let gh = height / p, gw = width / p, cells = gh * gw, n = 1 + cells, k = c * p * p
    lastShape = (batch, gh, gw)
    let cols = columns.reserve(batch * cells * k)
    Parallel.forRows(batch * gh, cost: gw * k) { range in
      for row in range {
        let b = row / gh, gy = row % gh
        for gx in 0..<gw {
          let dst = cols + ((b * gh + gy) * gw + gx) * k
          for ch in 0..<c {
            let plane = images + (b * c + ch) * height * width
            for ky in 0..<p {
              (dst + (ch * p + ky) * p).update(from: plane + (gy * p + ky) * width + gx * p, count: p)
            }
          }
        }
      }
    }
    for b in 0..<batch {
      BLAS.gemm(
        transB: true, m: cells, n: d, k: k, a: cols + b * cells * k, lda: k, b: patchWeight.value.pointer,
        ldb: k, c: tokens + (b * n + 1) * d, ldc: d)
    }
    let pos = positionRows(gh: gh, gw: gw)
    let cls = classToken.value.pointer, clsPos = positions.value.pointer, bias = patchBias.value.pointer
    Parallel.forRows(batch, cost: n * d) { range in
      for b in range {
        let t = tokens + b * n * d
        for i in 0..<d { t[i] = cls[i] + clsPos[i] }
        for j in 0..<cells {
          let row = t + (1 + j) * d, pr = pos + j * d
          for i in 0..<d { row[i] += bias[i] + pr[i] }
        }
      }
    }
  }

  /// The whole position table (1, 1 + g·g, D) for a g × g grid, class position first: the rows
  /// `forward` adds at that grid (the stored ones or their bicubic resize), for writing a model whose
  /// native input size is g patches a side.
  public func positionTable(grid g: Int) -> Tensor {
    precondition(g > 0, "grid \(g)")
    let table = Tensor(shape: [1, 1 + g * g, dim])
    table.pointer.update(from: positions.value.pointer, count: dim)
    (table.pointer + dim).update(from: positionRows(gh: g, gw: g), count: g * g * dim)
    return table
  }

  /// The (P, D) patch position rows for a gh × gw grid: the stored grid or its bicubic resize.
  private func positionRows(gh: Int, gw: Int) -> UnsafePointer<Float> {
    let stored = positions.value.pointer + dim
    if gh == grid && gw == grid { return UnsafePointer(stored) }
    let out = resized.reserve(gh * gw * dim)
    if let done = resizedFor, done == (gh, gw), !positions.isTrainable { return UnsafePointer(out) }
    let rh = BicubicResize.matrix(from: grid, to: gh), rw = BicubicResize.matrix(from: grid, to: gw)
    out.update(repeating: 0, count: gh * gw * dim)
    for y in 0..<gh {
      for x in 0..<gw {
        let o = out + (y * gw + x) * dim
        for (a, wa) in rh[y] {
          for (b, wb) in rw[x] {
            let w = wa * wb, s = stored + (a * grid + b) * dim
            for i in 0..<dim { o[i] += w * s[i] }
          }
        }
      }
    }
    resizedFor = (gh, gw)
    return UnsafePointer(out)
  }

  /// Adds the trainable parameters' gradients from dTokens (B, N, D) of the last forward.
  func backward(dTokens: UnsafePointer<Float>, images: UnsafePointer<Float>) {
    let (batch, gh, gw) = lastShape
    let p = patch, d = dim, cells = gh * gw, n = 1 + cells, k = channels * p * p
    if let g = patchWeight.gradient {
      for b in 0..<batch {
        BLAS.gemm(
          transA: true, m: d, n: k, k: cells, a: dTokens + (b * n + 1) * d, lda: d,
          b: columns.pointer + b * cells * k, ldb: k, beta: 1, c: g.pointer, ldc: k)
      }
    }
    if let g = patchBias.gradient {
      for b in 0..<batch { BiasKernel.sumRows(dTokens + (b * n + 1) * d, into: g.pointer, rows: cells, dim: d) }
    }
    if let g = classToken.gradient {
      for b in 0..<batch { BiasKernel.sumRows(dTokens + b * n * d, into: g.pointer, rows: 1, dim: d) }
    }
    guard let g = positions.gradient else { return }
    for b in 0..<batch { BiasKernel.sumRows(dTokens + b * n * d, into: g.pointer, rows: 1, dim: d) }
    if gh == grid && gw == grid {
      for b in 0..<batch {
        let src = dTokens + (b * n + 1) * d, dst = g.pointer + d
        for i in 0..<(cells * d) { dst[i] += src[i] }
      }
      return
    }
    // Through the resize: d(stored[a, b]) = Σ_{y,x} Rh[y, a] Rw[x, b] d(resized[y, x]).
    let rh = BicubicResize.matrix(from: grid, to: gh), rw = BicubicResize.matrix(from: grid, to: gw)
    for bt in 0..<batch {
      for y in 0..<gh {
        for x in 0..<gw {
          let src = dTokens + (bt * n + 1 + y * gw + x) * d
          for (a, wa) in rh[y] {
            for (bb, wb) in rw[x] {
              let w = wa * wb, dst = g.pointer + d + (a * grid + bb) * d
              for i in 0..<d { dst[i] += w * src[i] }
            }
          }
        }
      }
    }
  }
}

/// One-dimensional bicubic resampling weights, as torch's `interpolate(mode='bicubic',
/// align_corners=False)` and ONNX Resize (cubic_coeff_a = -0.75, half_pixel, exclude_outside = 0).
enum BicubicResize {
  /// For each output index, the (input index, weight) pairs; indices clamped to the edge.
  static func matrix(from inSize: Int, to outSize: Int) -> [[(Int, Float)]] {
    let scale = Double(inSize) / Double(outSize)
    let a = -0.75
    func cubic(_ t: Double) -> Double {
      let x = abs(t)
      if x <= 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
      if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
      return 0
    }
    return (0..<outSize).map { o in
      let src = (Double(o) + 0.5) * scale - 0.5
      let f = src.rounded(.down), t = src - f
      var taps: [Int: Float] = [:]
      for j in -1...2 {
        let idx = min(max(Int(f) + j, 0), inSize - 1)
        taps[idx, default: 0] += Float(cubic(t - Double(j)))
      }
      return taps.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
  }
}
