// The three loss terms of knowledge swapping on the engine's tensors. Each writes its gradient where
// the backward pass reads it: cross-entropy into rows of d(loss)/d(logits) (per image, or per pixel
// for segmentation), the group-sparse term straight into the LoRA matrices' gradients.

import Foundation
import TensorFile
import Tensors
import ViT

/// Batch-mean softmax cross-entropy of the rows `rows` of `logits` (R x K) against `labels` (one per
/// row, model rows). Writes `weight` * dCE/dLogits = weight * (softmax - onehot) / rows.count into the
/// same rows of `gradient` (zeros when `weight` is 0). Sums run in Double with the max-shift, so the
/// large logits the forgetting stage produces stay finite.
@discardableResult
public func crossEntropy(
  logits: Tensor, rows: Range<Int>, labels: [Int], weight: Float = 1, gradient: Tensor? = nil
) -> Float {
  precondition(
    logits.rank == 2 && rows.count == labels.count && rows.upperBound <= logits.shape[0],
    "cross-entropy: \(labels.count) labels for rows \(rows) of logits \(logits.shape)")
  let classes = logits.shape[1]
  guard !rows.isEmpty else { return 0 }
  let scale = 1.0 / Double(rows.count)
  var total = 0.0
  for (row, label) in zip(rows, labels) {
    precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
    let x = logits.pointer + row * classes
    var peak = -Float.infinity
    for k in 0..<classes { peak = max(peak, x[k]) }
    var sum = 0.0
    for k in 0..<classes { sum += exp(Double(x[k] - peak)) }
    total += log(sum) - Double(x[label] - peak)
    guard let gradient else { continue }
    let g = gradient.pointer + row * classes
    if weight == 0 {
      g.update(repeating: 0, count: classes)
      continue
    }
    for k in 0..<classes {
      let p = exp(Double(x[k] - peak)) / sum
      g[k] = weight * Float((p - (k == label ? 1 : 0)) * scale)
    }
  }
  return Float(total * scale)
}

/// Per-pixel softmax cross-entropy of images `images` of pixel logits (B, K, H, W) against `masks`,
/// those images' mask values (images.count · H · W, image by image, row by row, as a dataset stores
/// them), as PyTorch's `F.cross_entropy(logits, masks, ignore_index=255)`: the mean over the pixels whose
/// value is not `DatasetLayout.ignoreLabel` (255). Writes `weight` * d(mean)/d(logits) = `weight` *
/// (softmax - onehot) / counted into those images' planes of `gradient`, zero at ignored pixels. With no
/// counted pixel the loss is 0 and the gradient zero (PyTorch gives NaN). Each pixel's log-sum-exp
/// runs in Float after the max-shift; the sum over pixels in Double.
@discardableResult
public func pixelCrossEntropy(
  logits: Tensor, images: Range<Int>, masks: [UInt8], weight: Float = 1, gradient: Tensor? = nil
) -> Float {
  precondition(
    logits.rank == 4 && logits.shape[1] > 0 && images.upperBound <= logits.shape[0],
    "pixel cross-entropy: images \(images) of logits \(logits.shape)")
  let (classes, pixels) = (logits.shape[1], logits.shape[2] * logits.shape[3])
  precondition(
    masks.count == images.count * pixels, "\(masks.count) mask values for \(images.count) images of \(pixels)")
  precondition(gradient == nil || gradient!.shape == logits.shape, "gradient \(gradient!.shape) for \(logits.shape)")
  let counted = masks.reduce(0) { $0 + ($1 == DatasetLayout.ignoreLabel ? 0 : 1) }
  let scale = counted == 0 ? 0 : weight / Float(counted)
  var sums = [Double](repeating: 0, count: images.count)
  masks.withUnsafeBufferPointer { masks in
    sums.withUnsafeMutableBufferPointer { sums in
      Parallel.forRows(images.count, cost: classes * pixels * 4) { range in
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * pixels)
        defer { scratch.deallocate() }
        for i in range {
          let offset = (images.lowerBound + i) * classes * pixels
          sums[i] = pixelCrossEntropySum(
            logits: logits.pointer + offset, masks: masks.baseAddress! + i * pixels, classes: classes, pixels: pixels,
            scale: scale, gradient: gradient.map { $0.pointer + offset }, scratch: scratch)
        }
      }
    }
  }
  return counted == 0 ? 0 : Float(sums.reduce(0, +) / Double(counted))
}

/// One image's sum of per-pixel losses over its counted pixels; with `gradient`, writes `scale` ·
/// (softmax - onehot) into it (0 at ignored pixels). Loops run over pixels, planes outside, so each
/// inner loop is contiguous. `scratch` holds 3 · pixels floats.
private func pixelCrossEntropySum(
  logits x: UnsafePointer<Float>, masks labels: UnsafePointer<UInt8>, classes: Int, pixels: Int, scale: Float,
  gradient g: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>
) -> Double {
  let ignore = DatasetLayout.ignoreLabel
  for p in 0..<pixels {
    precondition(labels[p] == ignore || Int(labels[p]) < classes, "mask value \(labels[p]) for \(classes) classes")
  }
  let (peak, sum, exps) = (scratch, scratch + pixels, scratch + 2 * pixels)
  peak.update(from: x, count: pixels)
  for c in 1..<classes {
    let plane = x + c * pixels
    for p in 0..<pixels { peak[p] = max(peak[p], plane[p]) }
  }
  sum.update(repeating: 0, count: pixels)
  for c in 0..<classes {
    // With a gradient the exponentials go where it goes, to be scaled in place below.
    let (plane, out) = (x + c * pixels, g.map { $0 + c * pixels } ?? exps)
    for p in 0..<pixels { out[p] = plane[p] - peak[p] }
    SoftmaxKernel.exp(out, into: out, count: pixels)
    for p in 0..<pixels { sum[p] += out[p] }
  }
  var total = 0.0
  for p in 0..<pixels where labels[p] != ignore {
    total += Double(log(sum[p]) - (x[Int(labels[p]) * pixels + p] - peak[p]))
  }
  guard let g else { return total }
  for p in 0..<pixels { sum[p] = labels[p] == ignore ? 0 : scale / sum[p] }  // each pixel's factor
  for c in 0..<classes {
    let out = g + c * pixels
    for p in 0..<pixels { out[p] *= sum[p] }
  }
  for p in 0..<pixels where labels[p] != ignore { g[Int(labels[p]) * pixels + p] -= scale }
  return total
}

/// The bounded forgetting term relu(bound - ce) (GS-LoRA, used by the paper). Minimising it raises the
/// forget-set loss until it reaches `bound`; from then on the term is 0 and passes no gradient.
/// `slope` is d(term)/d(ce): -1 below the bound, 0 at or above it.
public func boundedForgetting(crossEntropy ce: Float, bound: Float) -> (value: Float, slope: Float) {
  ce < bound ? (bound - ce, -1) : (0, 0)
}

/// The group-sparse (L2,1) regulariser: the sum over groups of sqrt(sum of the squared Frobenius norms
/// of the group's matrices). Adds `weight` * M / ||group|| to each matrix's gradient (nothing when
/// `weight` is 0); a group whose norm is exactly zero gets the zero subgradient (its minimum).
@discardableResult
public func groupSparse(_ groups: [[Parameter]], gradientWeight weight: Float = 0) -> Float {
  var value = 0.0
  for group in groups {
    var squares = 0.0
    for matrix in group {
      let x = matrix.value.pointer
      for i in 0..<matrix.value.count { squares += Double(x[i]) * Double(x[i]) }
    }
    let norm = squares.squareRoot()
    value += norm
    guard weight != 0 else { continue }
    let inverse = norm > 0 ? Float(1 / norm) : 0
    for matrix in group {
      guard let gradient = matrix.gradient else { continue }
      let (x, g) = (matrix.value.pointer, gradient.pointer)
      for i in 0..<matrix.value.count { g[i] += weight * (x[i] * inverse) }
    }
  }
  return Float(value)
}
