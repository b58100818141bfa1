import Foundation
import Tensors

// Shape legend for this file: B batch, N tokens (the class token first, then the Hp × Wp patches row by
// row), D width, K classes, P = Hp · Wp patches, s the patch size (the stride between patch centres).

/// Where each number sits in a patch's row of a detection model's outputs (B, Hp, Wp, K + 5): the K class
/// logits first, then the box distances l, t, r, b from the patch centre to the box's left, top, right and
/// bottom sides in patch strides (positive), then the centerness logit (Formats/model.md).
public enum DetectionOutputs {
  /// The numbers after the class logits: four box distances and the centerness logit.
  public static let boxChannels = 5
  /// The index of the first box distance (l) in a row of K class logits plus the box channels.
  public static func box(classes: Int) -> Int { classes }
  /// The index of the centerness logit.
  public static func centerness(classes: Int) -> Int { classes + 4 }
  /// The class count K of outputs (B, Hp, Wp, K + 5).
  public static func classes(_ outputs: Tensor) -> Int {
    precondition(
      outputs.rank == 4 && outputs.shape[3] > boxChannels, "detection outputs (B, Hp, Wp, K + 5), not \(outputs.shape)")
    return outputs.shape[3] - boxChannels
  }

  /// The probability a fresh class row starts at on every patch, as FCOS and DINO initialise their
  /// classifiers: with a sigmoid focal loss, rows starting at 0.5 would make the many background patches
  /// swamp the first steps.
  public static let priorProbability: Float = 0.01
  /// The class bias giving `priorProbability`: -log((1 - π) / π).
  public static var priorBias: Float { -Float(log((1 - Double(priorProbability)) / Double(priorProbability))) }
}

/// The dense detection head of an FCOS-style detector on the patch tokens, forward and backward: on every
/// final-normed patch token, the model's `head` (K, D) gives the class logits and the box branch
/// `box_head` (5, D) the four box distances (through softplus, so they are positive) and the centerness
/// logit, as outputs (B, Hp, Wp, K + 5) (`DetectionOutputs`).
///
/// Both layers run on all B·N token rows in one product, as `SegmentationDecoder` does (so LoRA on the head
/// works, and new-class rows, merge and diff treat `head` as a classifier's); the rows before the patches
/// (the class token) are dropped and get zero gradient. Softplus rather than FCOS's exp: the forgetting
/// stage pushes the forget set's outputs far, and softplus grows linearly where exp overflows.
final class DetectionHead {
  private var outputs = Tensor(shape: [0])
  private let classRows = Buffer()  // (B·N, K): the head on every token, or its gradient
  private let boxRaw = Buffer()  // (B·N, 5): the box branch before softplus, kept for backward
  private let boxGradient = Buffer()  // (B·N, 5): d(loss)/d(box branch)
  private var last = (batch: 0, tokens: 0, cells: 0)

  /// Outputs (B, gridHeight, gridWidth, K + 5) of final-normed `tokens` (B, N, D).
  ///
  /// The last `gridHeight` · `gridWidth` token rows are the patches; `training` keeps what `backward`
  /// needs. The result belongs to the head and is overwritten by the next call.
  func forward(
    tokens: Tensor, head: Linear, boxHead: Linear, gridHeight: Int, gridWidth: Int, training: Bool
  ) -> Tensor {
    let (b, n) = (tokens.shape[0], tokens.shape[1]), k = head.outFeatures, cells = gridHeight * gridWidth
    precondition(n >= cells, "\(n) tokens for a \(gridHeight)x\(gridWidth) grid")
    precondition(boxHead.outFeatures == DetectionOutputs.boxChannels, "a box branch of \(boxHead.outFeatures) rows")
    let width = k + DetectionOutputs.boxChannels
    let rows = classRows.reserve(b * n * k), raw = boxRaw.reserve(b * n * DetectionOutputs.boxChannels)
    head.forward(x: tokens.pointer, y: rows, rows: b * n, training: training)
    boxHead.forward(x: tokens.pointer, y: raw, rows: b * n, training: training)
    if outputs.shape != [b, gridHeight, gridWidth, width] {
      outputs = Tensor(shape: [b, gridHeight, gridWidth, width])
    }
    let out = outputs.pointer, prefix = n - cells, boxes = DetectionOutputs.boxChannels
    for image in 0..<b {
      for cell in 0..<cells {
        let token = image * n + prefix + cell, target = out + (image * cells + cell) * width
        target.update(from: rows + token * k, count: k)
        let source = raw + token * boxes
        for j in 0..<4 { target[k + j] = softplus(source[j]) }
        target[k + 4] = source[4]
      }
    }
    last = (b, n, cells)
    return outputs
  }

  /// Back-propagates d(loss)/d(outputs) `dOutputs` of the last training forward.
  ///
  /// Writes d(loss)/d(tokens) (B, N, D) into `dTokens` (zero on the rows before the patches) and adds the
  /// head's and the box branch's parameter gradients; `tokens` is that forward's input, unchanged.
  /// Softplus' derivative is the sigmoid.
  func backward(_ dOutputs: Tensor, head: Linear, boxHead: Linear, tokens: Tensor, dTokens: Tensor) {
    let (b, n, cells) = last, k = head.outFeatures, boxes = DetectionOutputs.boxChannels, width = k + boxes
    precondition(
      dOutputs.rank == 4 && dOutputs.shape[0] == b && dOutputs.shape[1] * dOutputs.shape[2] == cells
        && dOutputs.shape[3] == width, "dOutputs \(dOutputs.shape) for \(b) images of \(cells) patches of \(width)")
    let rows = classRows.reserve(b * n * k), dBox = boxGradient.reserve(b * n * boxes), raw = boxRaw.pointer
    let prefix = n - cells
    for image in 0..<b {
      (rows + image * n * k).update(repeating: 0, count: prefix * k)
      (dBox + image * n * boxes).update(repeating: 0, count: prefix * boxes)
      for cell in 0..<cells {
        let token = image * n + prefix + cell, source = dOutputs.pointer + (image * cells + cell) * width
        (rows + token * k).update(from: source, count: k)
        for j in 0..<4 { dBox[token * boxes + j] = source[k + j] * sigmoid(raw[token * boxes + j]) }
        dBox[token * boxes + 4] = source[k + 4]
      }
    }
    head.backward(dy: rows, x: tokens.pointer, dx: dTokens.pointer, rows: b * n)
    boxHead.backward(dy: dBox, x: tokens.pointer, dx: dTokens.pointer, rows: b * n, accumulate: true)
  }
}

/// log(1 + eˣ) without overflow, as `F.softplus` (whose shortcut above 20 differs by under 3e-9).
func softplus(_ x: Float) -> Float { max(x, 0) + log1p(exp(-abs(x))) }

/// 1 / (1 + e⁻ˣ) without overflow.
func sigmoid(_ x: Float) -> Float { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }
