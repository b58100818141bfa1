// Top-1 accuracy over a set, overall and per class; the argmax runs over all of the network's classes
// and labels must match exactly (the paper's `eval_data`).

import Tensors

public struct Accuracy: Sendable, Equatable {
  /// Per label value: (correct, total).
  public var perClass: [Int: (correct: Int, total: Int)] = [:]
  public var correct = 0
  public var total = 0

  public init() {}

  /// Percent correct (0 for an empty set).
  public var percent: Double { total == 0 ? 0 : 100 * Double(correct) / Double(total) }

  public static func == (a: Accuracy, b: Accuracy) -> Bool {
    a.correct == b.correct && a.total == b.total && a.perClass.count == b.perClass.count
      && a.perClass.allSatisfy { k, v in b.perClass[k].map { $0 == v } ?? false }
  }
}

/// Index of the largest logit in each row of `logits` (R x K) (the first on ties).
public func argmaxRows(_ logits: Tensor) -> [Int] {
  let (rows, classes) = (logits.shape[0], logits.shape[1])
  return (0..<rows).map { r in
    let x = logits.pointer + r * classes
    var best = 0
    for k in 1..<classes where x[k] > x[best] { best = k }
    return best
  }
}

/// Accuracy of `network` on `set`, in batches; `logitsSink` receives each batch's logits in order
/// (valid during the call only).
public func evaluate(
  _ network: SwapNetwork, on set: LabeledImages, batchSize: Int = 256,
  logitsSink: ((Tensor) -> Void)? = nil
) -> Accuracy {
  var accuracy = Accuracy()
  let images = ReusedTensor()
  var start = 0
  while start < set.count {
    let indices = Array(start..<min(start + batchSize, set.count))
    let batch = images.shaped(set.batchShape(indices.count))
    set.write(indices, into: batch)
    let logits = network.logits(batch)
    logitsSink?(logits)
    for (index, predicted) in zip(indices, argmaxRows(logits)) {
      let label = set.labels[index]
      let hit = predicted == label
      accuracy.correct += hit ? 1 : 0
      accuracy.total += 1
      let old = accuracy.perClass[label] ?? (0, 0)
      accuracy.perClass[label] = (old.correct + (hit ? 1 : 0), old.total + 1)
    }
    start += batchSize
  }
  return accuracy
}
