// Scores of predicted masks against true ones: per class the intersection over union (pixels both
// call c, over pixels either calls c), their mean over the classes the truth holds (mIoU), and pixel
// accuracy; ignored pixels (255) take no part.

import TensorFile
import Tensors
import ViT

public struct SegmentationScore: Sendable, Equatable {
  /// Per class (model row): pixels predicted c where the truth is c.
  public private(set) var intersection: [Int]
  /// Per class: counted pixels predicted c.
  public private(set) var predicted: [Int]
  /// Per class: counted pixels whose truth is c.
  public private(set) var truth: [Int]
  /// Counted pixels (truth not ignored), and those predicted right.
  public private(set) var counted = 0
  public private(set) var correct = 0

  /// An empty score for a model of `classes` classes.
  public init(classes: Int) {
    intersection = Array(repeating: 0, count: classes)
    predicted = intersection
    truth = intersection
  }

  /// Adds predicted masks and true ones (the same layout and length; truth 255 is left out).
  public mutating func add(predicted guesses: [UInt8], truth labels: [UInt8]) {
    precondition(guesses.count == labels.count, "\(guesses.count) predictions for \(labels.count) pixels")
    let classes = truth.count
    for (guess, label) in zip(guesses, labels) where label != DatasetLayout.ignoreLabel {
      let (g, t) = (Int(guess), Int(label))
      precondition(g < classes && t < classes, "class \(max(g, t)) for a score of \(classes) classes")
      counted += 1
      predicted[g] += 1
      truth[t] += 1
      if g == t {
        correct += 1
        intersection[t] += 1
      }
    }
  }

  /// The classes the truth holds, in row order: those mIoU averages over.
  public var presentClasses: [Int] { truth.indices.filter { truth[$0] > 0 } }

  /// Class `c`'s IoU in percent; nil when neither the truth nor the prediction holds it.
  public func iou(_ c: Int) -> Double? {
    let union = truth[c] + predicted[c] - intersection[c]
    return union == 0 ? nil : 100 * Double(intersection[c]) / Double(union)
  }

  /// The mean IoU in percent over `presentClasses` (0 when no pixel counted).
  public var meanIoU: Double {
    let present = presentClasses
    guard !present.isEmpty else { return 0 }
    return present.reduce(0) { $0 + (iou($1) ?? 0) } / Double(present.count)
  }

  /// Percent of counted pixels predicted right (0 when none counted).
  public var pixelAccuracy: Double { counted == 0 ? 0 : 100 * Double(correct) / Double(counted) }
}

/// The score of `network` (pixel logits) on `set`, whose masks hold the network's rows, in batches.
public func evaluateSegmentation(_ network: SwapNetwork, on set: SegmentedImages, classes: Int, batchSize: Int = 64)
  -> SegmentationScore
{
  var score = SegmentationScore(classes: classes)
  let images = ReusedTensor()
  for start in stride(from: 0, to: set.count, by: batchSize) {
    let indices = Array(start..<min(start + batchSize, set.count))
    let batch = images.shaped(set.batchShape(indices.count))
    set.write(indices, into: batch)
    score.add(predicted: argmaxPixels(network.logits(batch)), truth: set.maskBatch(indices))
  }
  return score
}
