// The detection head's loss, FCOS's on one feature level (the patch grid): which patch answers for which
// ground-truth box, the sigmoid focal loss on the class logits of every patch, the GIoU loss on the boxes
// and the centerness cross-entropy of the patches that answer for a box (Formats/model.md, "Detection
// models"). It writes its gradient where the model's backward reads it, as the other losses do.

import Foundation
import Tensors
import ViT

/// The detection loss of some images and its three parts, each already divided by the number of positive
/// patches (at least 1): `total` = `classification` + `box` + `centerness` (FCOS's weights, all 1).
public struct DetectionLoss: Sendable, Equatable {
  /// The sigmoid focal loss over every patch and class.
  public var classification: Float = 0
  /// 1 - GIoU summed over the positive patches.
  public var box: Float = 0
  /// The centerness binary cross-entropy summed over the positive patches.
  public var centerness: Float = 0
  /// The patches that answer for a box (the normaliser is max(1, positives)).
  public var positives = 0

  public init() {}

  public var total: Float { classification + box + centerness }
}

/// The focal loss' alpha and gamma (Lin et al.; torchvision's `sigmoid_focal_loss` defaults, FCOS's).
public let focalAlpha = 0.25
public let focalGamma = 2.0

/// The box each patch of a `gridHeight` × `gridWidth` grid answers for, row by row.
///
/// Each entry is an index into `boxes`, or nil for a background patch. A patch whose centre
/// ((column + ½)·stride, (row + ½)·stride) lies strictly inside a box is a candidate for it, and so is
/// the patch whose cell holds the box's centre (so a box smaller than a patch still has one); a patch
/// with several candidates takes the one of smallest area, the first of them on a tie (FCOS's rule).
public func assignPatches(_ boxes: [LabeledBox], gridHeight: Int, gridWidth: Int, stride: Int) -> [Int?] {
  var assigned = [Int?](repeating: nil, count: gridHeight * gridWidth)
  let s = Float(stride)
  func take(_ cell: Int, _ index: Int) {
    if let current = assigned[cell], boxes[current].box.area <= boxes[index].box.area { return }
    assigned[cell] = index
  }
  for (index, labeled) in boxes.enumerated() {
    let box = labeled.box
    for row in 0..<gridHeight {
      let y = (Float(row) + 0.5) * s
      guard box.y0 < y && y < box.y1 else { continue }
      for column in 0..<gridWidth {
        let x = (Float(column) + 0.5) * s
        if box.x0 < x && x < box.x1 { take(row * gridWidth + column, index) }
      }
    }
    let row = min(max(Int(((box.y0 + box.y1) / 2 / s).rounded(.down)), 0), gridHeight - 1)
    let column = min(max(Int(((box.x0 + box.x1) / 2 / s).rounded(.down)), 0), gridWidth - 1)
    take(row * gridWidth + column, index)
  }
  return assigned
}

/// The detection loss of images `images` of `outputs` against `targets`, and its gradient.
///
/// `outputs` are a detection model's (B, Hp, Wp, K + 5) (`DetectionOutputs`), for a model of patch size
/// `stride`; `targets` holds one list of boxes per image of `images`, in pixels, labelled with model rows.
/// The positive patches are `assignPatches`'. The focal loss (alpha 0.25, gamma 2) covers every patch
/// and class: a positive patch's target is 1 at its box's class, every other target 0. GIoU compares a
/// positive patch's box (its distances around its centre) with its ground truth, and its centerness logit
/// learns FCOS's √(min(l, r) / max(l, r) · min(t, b) / max(t, b)) of the ground truth's distances (each
/// clamped at 0, so 0 for a patch outside its box). Each sum is divided by max(1, positives) over these
/// images.
///
/// With a `gradient` (shaped as `outputs`), writes `weight` · d(total)/d(outputs) into those images' rows
/// (zero for the box channels of background patches). Sums run in Double.
public func detectionLoss(
  outputs: Tensor, images: Range<Int>, targets: [[LabeledBox]], stride: Int, weight: Float = 1,
  gradient: Tensor? = nil
) -> DetectionLoss {
  let classes = DetectionOutputs.classes(outputs)
  let (gridHeight, gridWidth, width) = (outputs.shape[1], outputs.shape[2], outputs.shape[3])
  let cells = gridHeight * gridWidth
  precondition(
    images.upperBound <= outputs.shape[0] && targets.count == images.count,
    "detection loss: \(targets.count) target lists for images \(images) of outputs \(outputs.shape)")
  precondition(gradient == nil || gradient!.shape == outputs.shape, "gradient \(gradient!.shape) for \(outputs.shape)")
  for boxes in targets {
    for b in boxes { precondition(b.label >= 0 && b.label < classes, "box label \(b.label) for \(classes) classes") }
  }
  let assignments = targets.map { assignPatches($0, gridHeight: gridHeight, gridWidth: gridWidth, stride: stride) }
  var loss = DetectionLoss()
  loss.positives = assignments.reduce(0) { $0 + $1.lazy.compactMap { $0 }.count }
  let normaliser = Double(max(1, loss.positives)), scale = Double(weight) / normaliser
  var (focal, giou, centerness) = (0.0, 0.0, 0.0)
  let s = Double(stride)
  for (i, image) in images.enumerated() {
    for cell in 0..<cells {
      let offset = (image * cells + cell) * width
      let x = outputs.pointer + offset, g = gradient.map { $0.pointer + offset }
      let assigned = assignments[i][cell].map { targets[i][$0] }
      for c in 0..<classes {
        let term = focalTerm(Double(x[c]), positive: assigned?.label == c)
        focal += term.value
        g?[c] = Float(scale * term.slope)
      }
      let (box, ctr) = (DetectionOutputs.box(classes: classes), DetectionOutputs.centerness(classes: classes))
      guard let assigned else {
        g.map { ($0 + box).update(repeating: 0, count: DetectionOutputs.boxChannels) }
        continue
      }
      // Distances from the patch centre to the ground truth's sides, in strides (negative outside it).
      let (cx, cy) = (Double(cell % gridWidth) + 0.5, Double(cell / gridWidth) + 0.5)
      let truth = [
        cx - Double(assigned.box.x0) / s, cy - Double(assigned.box.y0) / s, Double(assigned.box.x1) / s - cx,
        Double(assigned.box.y1) / s - cy,
      ]
      let overlap = giouLoss(predicted: (0..<4).map { Double(x[box + $0]) }, truth: truth)
      giou += overlap.value
      let target = centernessTarget(truth)
      let logit = Double(x[ctr])
      centerness += binaryCrossEntropy(logit: logit, target: target)
      guard let g else { continue }
      for j in 0..<4 { g[box + j] = Float(scale * overlap.slopes[j]) }
      g[ctr] = Float(scale * (logistic(logit) - target))
    }
  }
  loss.classification = Float(focal / normaliser)
  loss.box = Float(giou / normaliser)
  loss.centerness = Float(centerness / normaliser)
  return loss
}

/// The sigmoid focal loss of one logit x with target 1 (`positive`) or 0, and its derivative: with p =
/// σ(x), α(1-p)^γ·(-log p) and -α(1-p)^γ·(γ·p·(-log p) + 1 - p) for a positive; (1-α)p^γ·(-log(1-p)) and
/// (1-α)p^γ·(γ(1-p)(-log(1-p)) + p) for a negative. The logs are softplus, finite for any logit.
private func focalTerm(_ x: Double, positive: Bool) -> (value: Double, slope: Double) {
  let p = logistic(x)
  if positive {
    let ce = softplus(-x), weight = focalAlpha * pow(1 - p, focalGamma)
    return (weight * ce, -focalAlpha * pow(1 - p, focalGamma) * (focalGamma * p * ce + 1 - p))
  }
  let ce = softplus(x), weight = (1 - focalAlpha) * pow(p, focalGamma)
  return (weight * ce, (1 - focalAlpha) * pow(p, focalGamma) * (focalGamma * (1 - p) * ce + p))
}

/// 1 - GIoU of two boxes given as distances (l, t, r, b) from one point, and its derivative with respect
/// to the predicted distances. With areas A (predicted), T (truth), intersection I, union U = A + T - I
/// and enclosing box E: 1 - GIoU = 2 - I/U - U/E, so d = -(dI·U - I·dU)/U² - (dU·E - U·dE)/E² with dU =
/// dA - dI. Each side of I is the nearer of the two (min), of E the farther (max), so dI and dE follow
/// the side that is nearer or farther; I is 0 (no slope) when the boxes do not overlap.
private func giouLoss(predicted p: [Double], truth t: [Double]) -> (value: Double, slopes: [Double]) {
  let area = (p[0] + p[2]) * (p[1] + p[3]), truthArea = (t[0] + t[2]) * (t[1] + t[3])
  let iw = min(p[0], t[0]) + min(p[2], t[2]), ih = min(p[1], t[1]) + min(p[3], t[3])
  let overlaps = iw > 0 && ih > 0
  let intersection = overlaps ? iw * ih : 0
  let union = area + truthArea - intersection
  let ew = max(p[0], t[0]) + max(p[2], t[2]), eh = max(p[1], t[1]) + max(p[3], t[3])
  let enclosing = ew * eh
  let value = 2 - intersection / union - union / enclosing
  var slopes = [Double](repeating: 0, count: 4)
  for j in 0..<4 {
    let horizontal = j % 2 == 0  // l and r set the width, t and b the height
    let dArea = horizontal ? p[1] + p[3] : p[0] + p[2]
    let dIntersection = overlaps && p[j] < t[j] ? (horizontal ? ih : iw) : 0
    let dEnclosing = p[j] > t[j] ? (horizontal ? eh : ew) : 0
    let dUnion = dArea - dIntersection
    slopes[j] =
      -(dIntersection * union - intersection * dUnion) / (union * union)
      - (dUnion * enclosing - union * dEnclosing) / (enclosing * enclosing)
  }
  return (value, slopes)
}

/// FCOS's centerness of distances (l, t, r, b), each clamped at 0: √(min(l, r)/max(l, r) · min(t, b)/max(t, b)),
/// 0 when a side has no extent.
private func centernessTarget(_ d: [Double]) -> Double {
  let (l, t, r, b) = (max(0, d[0]), max(0, d[1]), max(0, d[2]), max(0, d[3]))
  guard max(l, r) > 0, max(t, b) > 0 else { return 0 }
  return (min(l, r) / max(l, r) * (min(t, b) / max(t, b))).squareRoot()
}

/// Binary cross-entropy of σ(logit) against `target` in [0, 1], as `F.binary_cross_entropy_with_logits`.
private func binaryCrossEntropy(logit x: Double, target: Double) -> Double {
  softplus(x) - x * target
}

/// log(1 + eˣ) without overflow.
private func softplus(_ x: Double) -> Double { max(x, 0) + log1p(exp(-abs(x))) }

/// 1 / (1 + e⁻ˣ) without overflow.
func logistic(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }
