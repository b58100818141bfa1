import Foundation

// The three loss terms of knowledge swapping, as pure functions on flat Float buffers, each returning
// its value and its gradient, so tests can check them against hand computation.

/// Batch-mean softmax cross-entropy over `rows` rows of `classes` logits.
/// Returns the loss and dLoss/dLogits ((softmax - onehot) / rows), computed with the max-shift
/// so large logits (the forgetting stage drives them far apart) stay finite.
public func crossEntropy(logits: [Float], labels: [Int], classes: Int) -> (loss: Float, gradient: [Float]) {
  let rows = labels.count
  precondition(logits.count == rows * classes, "logits do not match labels x classes")
  guard rows > 0 else { return (0, []) }
  var gradient = [Float](repeating: 0, count: logits.count)
  var total = 0.0
  let scale = 1.0 / Double(rows)
  for r in 0..<rows {
    let base = r * classes
    var peak = -Float.infinity
    for k in 0..<classes { peak = max(peak, logits[base + k]) }
    var sum = 0.0
    for k in 0..<classes { sum += exp(Double(logits[base + k] - peak)) }
    let label = labels[r]
    total += log(sum) - Double(logits[base + label] - peak)
    for k in 0..<classes {
      let p = exp(Double(logits[base + k] - peak)) / sum
      gradient[base + k] = Float((p - (k == label ? 1 : 0)) * scale)
    }
  }
  return (Float(total * scale), gradient)
}

/// The bounded forgetting term relu(bound - ce) (GS-LoRA, used by the paper). Minimising it raises the
/// forget-set loss until it reaches `bound`; from then on the term is 0 and passes no gradient.
/// `slope` is d(term)/d(ce): -1 below the bound, 0 at or above it.
public func boundedForgetting(crossEntropy ce: Float, bound: Float) -> (value: Float, slope: Float) {
  ce < bound ? (bound - ce, -1) : (0, 0)
}

/// Group-sparse (L2,1) regulariser: sum over groups of sqrt(sum of squared Frobenius norms of the
/// group's matrices). Returns the value and, per group and matrix, the gradient M / ||group||.
/// A group whose norm is exactly zero gets the zero subgradient (the minimum of the norm is there).
public func groupSparse(_ groups: [[[Float]]]) -> (value: Float, gradients: [[[Float]]]) {
  var value = 0.0
  var gradients: [[[Float]]] = []
  for group in groups {
    var squares = 0.0
    for matrix in group { for x in matrix { squares += Double(x) * Double(x) } }
    let norm = squares.squareRoot()
    value += norm
    let inverse = norm > 0 ? Float(1 / norm) : 0
    gradients.append(group.map { matrix in matrix.map { $0 * inverse } })
  }
  return (Float(value), gradients)
}
