// Top-1 accuracy over a set, overall and per class; the argmax runs over all of the network's classes
// and labels must match exactly (the paper's `eval_data`). For segmentation, per-class intersection
// over union, its mean over the classes a set holds, and pixel accuracy, ignored pixels left out.

import TensorFile
import Tensors
import ViT

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

/// Pixel counts of a segmentation evaluation, per model row, over the pixels whose mask value is not
/// ignore (ignored pixels count nowhere, predicted or not).
public struct PixelScores: Sendable, Equatable {
  /// Per row: the pixels whose true class it is.
  public var truth: [Int]
  /// Per row: the pixels predicted as it.
  public var predicted: [Int]
  /// Per row: the pixels both true and predicted as it.
  public var intersection: [Int]
  /// The images seen.
  public var images = 0

  public init(classes: Int) {
    truth = Array(repeating: 0, count: classes)
    predicted = truth
    intersection = truth
  }

  /// The counted (not ignored) pixels.
  public var counted: Int { truth.reduce(0, +) }
  /// The counted pixels predicted right.
  public var correct: Int { intersection.reduce(0, +) }

  /// Percent of the counted pixels predicted right (0 when none is counted).
  public var pixelAccuracy: Double { counted == 0 ? 0 : 100 * Double(correct) / Double(counted) }

  /// The rows with at least one true pixel: the set's own classes, over which `meanIoU` averages.
  public var presentRows: [Int] { truth.indices.filter { truth[$0] > 0 } }

  /// Intersection over union of row `row` in percent: 100 · |true ∩ predicted| / |true ∪ predicted|
  /// (0 when both are empty).
  public func iou(_ row: Int) -> Double {
    let union = truth[row] + predicted[row] - intersection[row]
    return union == 0 ? 0 : 100 * Double(intersection[row]) / Double(union)
  }

  /// The mean of `iou` over `presentRows` (0 for a set with no counted pixel). Classes that are
  /// predicted but have no true pixel do not enter it.
  public var meanIoU: Double {
    let rows = presentRows
    return rows.isEmpty ? 0 : rows.reduce(0.0) { $0 + iou($1) } / Double(rows.count)
  }

  /// Adds images whose predicted classes are `predictions` and true ones `masks` (the same layout).
  public mutating func add(predictions: [UInt8], masks: [UInt8], images: Int) {
    precondition(predictions.count == masks.count, "\(predictions.count) predictions for \(masks.count) mask values")
    let ignore = DatasetLayout.ignoreLabel
    for (p, t) in zip(predictions, masks) where t != ignore {
      let (p, t) = (Int(p), Int(t))
      truth[t] += 1
      predicted[p] += 1
      if p == t { intersection[t] += 1 }
    }
    self.images += images
  }
}

/// The batch size that keeps a segmentation batch's pixel logits, `batch` · `classes` · `pixels`
/// floats, within `pixelLogitBudget` (at least one image): evaluation's memory stays bounded
/// whatever the image size and class count.
public func segmentationBatchSize(_ requested: Int, classes: Int, pixels: Int) -> Int {
  max(1, min(requested, pixelLogitBudget / max(1, classes * pixels)))
}

/// 2^24 floats (64 MiB) of pixel logits per evaluation batch.
public let pixelLogitBudget = 1 << 24

/// The pixel scores of `network` (a segmentation network: pixel logits (B, K, H, W)) on `set`, in
/// batches of `batchSize` (lowered by `segmentationBatchSize`); `predictionsSink` receives each
/// batch's predicted classes (`argmaxPixels`) in order.
public func evaluate(
  _ network: SwapNetwork, on set: SegmentedImages, classes: Int, batchSize: Int = 256,
  predictionsSink: (([UInt8]) -> Void)? = nil
) -> PixelScores {
  var scores = PixelScores(classes: classes)
  let batchSize = segmentationBatchSize(batchSize, classes: classes, pixels: set.pixelsPerMask)
  let images = ReusedTensor()
  var start = 0
  while start < set.count {
    let indices = Array(start..<min(start + batchSize, set.count))
    let batch = images.shaped(set.batchShape(indices.count))
    set.write(indices, into: batch)
    let logits = network.logits(batch)
    precondition(logits.rank == 4 && logits.shape[1] == classes, "pixel logits \(logits.shape) for \(classes) classes")
    let predictions = argmaxPixels(logits)
    predictionsSink?(predictions)
    scores.add(predictions: predictions, masks: set.maskBatch(indices), images: indices.count)
    start += batchSize
  }
  return scores
}

/// A set's headline score in percent: top-1 accuracy, or mean IoU (the per-epoch `--eval` figure).
public func headlineScore(_ network: SwapNetwork, on set: SwapSet, classes: Int) -> Double {
  switch set {
  case .labeled(let set): return evaluate(network, on: set).percent
  case .segmented(let set): return evaluate(network, on: set, classes: classes).meanIoU
  }
}
