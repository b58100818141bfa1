// The three loss terms of knowledge swapping on the engine's tensors. Each writes its gradient where
// the backward pass reads it: cross-entropy into rows of d(loss)/d(logits), the group-sparse term
// straight into the LoRA matrices' gradients.

import Foundation
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
