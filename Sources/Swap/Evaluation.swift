// Top-1 accuracy over a set, overall and per class; the argmax runs over all of the network's classes
// and labels must match exactly (the paper's `eval_data`).

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

/// Index of the largest logit in each row (the first on ties).
public func argmaxRows(_ logits: [Float], classes: Int) -> [Int] {
  let rows = logits.count / classes
  return (0..<rows).map { r in
    var best = 0
    var top = logits[r * classes]
    for k in 1..<classes where logits[r * classes + k] > top {
      top = logits[r * classes + k]
      best = k
    }
    return best
  }
}

/// Accuracy of `network` on `set`, in batches; `logitsSink` receives each batch's logits in order.
public func evaluate(_ network: SwapNetwork, on set: LabeledImages, batchSize: Int = 256,
                     logitsSink: (([Float]) -> Void)? = nil) -> Accuracy {
  var accuracy = Accuracy()
  var start = 0
  while start < set.count {
    let indices = Array(start..<min(start + batchSize, set.count))
    let logits = network.logits(set.batch(indices), shape: set.batchShape(indices.count))
    logitsSink?(logits)
    for (index, predicted) in zip(indices, argmaxRows(logits, classes: network.classCount)) {
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
