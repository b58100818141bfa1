import TensorFile
import Tensors

// Shape legend for this file: B batch, N tokens (the class token first, then the Hp × Wp patches row by
// row), D width, K classes, H × W image.

/// The "linear" decoder of Segmenter and SETR-naive, forward and backward: the model's head on every
/// final-normed patch token gives patch logits (B, K, Hp, Wp), resized bilinearly to pixel logits
/// (B, K, H, W) as PyTorch's `F.interpolate(mode="bilinear", align_corners=False)` does.
///
/// The tokens before the patches (the class token; register tokens too, were there any) take no part in
/// the decoder (in the blocks' attention they do): the head runs on all B·N token rows in one product,
/// as `Linear` does for any layer (so a LoRA adapter on the head works too), and their logits are
/// dropped; their gradient is zero. The head stays the classifier's `head` (K, D), so adapters,
/// new-class rows, merge and diff treat it as before.
final class SegmentationDecoder {
  /// The patch logits (B, K, Hp, Wp) of the last forward: the resize's input.
  private(set) var patchLogits = Tensor(shape: [0])
  /// d(loss)/d(patch logits) of the last backward.
  private(set) var patchGradient = Tensor(shape: [0])
  private var pixelLogits = Tensor(shape: [0])
  private let tokenRows = Buffer()  // (B·N, K): the head's output on every token, or its gradient
  private let resizeScratch = Buffer()
  private var resize: BilinearResize?
  private var last = (batch: 0, tokens: 0)

  /// Pixel logits (B, K, height, width) of final-normed `tokens` (B, N, D) whose last `gridHeight` ·
  /// `gridWidth` rows are the patches; `training` keeps what `backward` needs (the head's LoRA hidden).
  /// The result belongs to the decoder and is overwritten by the next call.
  func forward(
    tokens: Tensor, head: Linear, gridHeight: Int, gridWidth: Int, height: Int, width: Int, training: Bool
  ) -> Tensor {
    let (b, n) = (tokens.shape[0], tokens.shape[1]), k = head.outFeatures, cells = gridHeight * gridWidth
    precondition(n >= cells, "\(n) tokens for a \(gridHeight)x\(gridWidth) grid")
    let rows = tokenRows.reserve(b * n * k)
    head.forward(x: tokens.pointer, y: rows, rows: b * n, training: training)
    if patchLogits.shape != [b, k, gridHeight, gridWidth] {
      patchLogits = Tensor(shape: [b, k, gridHeight, gridWidth])
    }
    let planes = patchLogits.pointer, prefix = n - cells
    // Each image's patch rows (cells, K) become its K planes (cells).
    Parallel.forRows(b, cost: cells * k) { range in
      for image in range {
        let source = rows + (image * n + prefix) * k, target = planes + image * k * cells
        for cell in 0..<cells {
          for c in 0..<k { target[c * cells + cell] = source[cell * k + c] }
        }
      }
    }
    let resize = resize(gridHeight, gridWidth, height, width)
    if pixelLogits.shape != [b, k, height, width] { pixelLogits = Tensor(shape: [b, k, height, width]) }
    resize.forward(
      planes, planes: b * k, into: pixelLogits.pointer,
      scratch: resizeScratch.reserve(resize.scratchCount(planes: b * k)))
    last = (b, n)
    return pixelLogits
  }

  /// Writes d(loss)/d(tokens) (B, N, D) into `dTokens` (zero on the rows before the patches) and adds the
  /// head's parameter gradients, for d(loss)/d(pixel logits) `dLogits` of the last training forward;
  /// `tokens` is that forward's input, unchanged.
  func backward(_ dLogits: Tensor, head: Linear, tokens: Tensor, dTokens: Tensor) {
    guard let resize else { preconditionFailure("backward needs a forward first") }
    let (b, n) = last, k = head.outFeatures
    let (gh, gw) = (resize.inputHeight, resize.inputWidth), cells = gh * gw, prefix = n - cells
    precondition(
      dLogits.shape == [b, k, resize.outputHeight, resize.outputWidth],
      "dLogits \(dLogits.shape) for pixel logits \([b, k, resize.outputHeight, resize.outputWidth])")
    if patchGradient.shape != [b, k, gh, gw] { patchGradient = Tensor(shape: [b, k, gh, gw]) }
    let planes = patchGradient.pointer
    resize.backward(
      dLogits.pointer, planes: b * k, into: planes, scratch: resizeScratch.reserve(resize.scratchCount(planes: b * k)))
    let rows = tokenRows.reserve(b * n * k)
    Parallel.forRows(b, cost: n * k) { range in
      for image in range {
        let target = rows + image * n * k, source = planes + image * k * cells
        target.update(repeating: 0, count: prefix * k)
        for cell in 0..<cells {
          for c in 0..<k { target[(prefix + cell) * k + c] = source[c * cells + cell] }
        }
      }
    }
    head.backward(dy: rows, x: tokens.pointer, dx: dTokens.pointer, rows: b * n)
  }

  /// The resize for this grid and image size (kept while they stay the same).
  private func resize(_ gridHeight: Int, _ gridWidth: Int, _ height: Int, _ width: Int) -> BilinearResize {
    if let resize, resize.inputHeight == gridHeight, resize.inputWidth == gridWidth, resize.outputHeight == height,
      resize.outputWidth == width
    {
      return resize
    }
    let made = BilinearResize(inputHeight: gridHeight, inputWidth: gridWidth, outputHeight: height, outputWidth: width)
    resize = made
    return made
  }
}

/// Each pixel's predicted class: the index of its largest logit (the first on ties, as `torch.argmax`)
/// in pixel logits (B, K, H, W), as B·H·W bytes in the masks' layout (image, row, column). K is at most
/// 255 (`ViTConfig.validationProblem`), so no prediction is the ignore value 255.
public func argmaxPixels(_ logits: Tensor) -> [UInt8] {
  precondition(logits.rank == 4, "pixel logits (B, K, H, W), not \(logits.shape)")
  let (b, k, pixels) = (logits.shape[0], logits.shape[1], logits.shape[2] * logits.shape[3])
  precondition(k > 0 && k <= Int(DatasetLayout.ignoreLabel), "\(k) classes: a mask byte names at most 255")
  var classes = [UInt8](repeating: 0, count: b * pixels)
  if classes.isEmpty { return [] }
  classes.withUnsafeMutableBufferPointer { out in
    let out = out.baseAddress!
    Parallel.forRows(b, cost: k * pixels) { range in
      let best = UnsafeMutablePointer<Float>.allocate(capacity: pixels)
      defer { best.deallocate() }
      for image in range {
        let x = logits.pointer + image * k * pixels, predicted = out + image * pixels
        best.update(from: x, count: pixels)
        for c in 1..<k {
          let plane = x + c * pixels
          for p in 0..<pixels where plane[p] > best[p] {
            best[p] = plane[p]
            predicted[p] = UInt8(c)
          }
        }
      }
    }
  }
  return classes
}
