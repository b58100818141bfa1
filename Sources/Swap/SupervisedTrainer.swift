// Plain supervised training on one set (AdamW, linear warm-up then cosine per step): images with a label
// each under cross-entropy (how the demo's base model is pretrained in full-parameter mode), or a class
// per pixel under the per-pixel cross-entropy (the base segmentation model). Reports by callback.

import Foundation
import SeededRandom
import Tensors
import ViT

public struct SupervisedSettings: Sendable {
  public var epochs = 10
  public var batchSize = 128
  public var peakRate: Float = 1e-3
  public var floorRate: Float = 1e-5
  public var warmupSteps = 200
  public var weightDecay: Float = 0.05
  /// Dropout probability in training forwards; 0 (the default) turns it off.
  public var dropout: Float = 0
  public init() {}

  /// Learning rate at optimiser step `step` (0-based) of `total`.
  public func rate(step: Int, total: Int) -> Float {
    if step < warmupSteps { return peakRate * Float(step + 1) / Float(warmupSteps) }
    let t = Double(step - warmupSteps) / Double(max(1, total - warmupSteps))
    return Float(Double(floorRate) + 0.5 * Double(peakRate - floorRate) * (1 + cos(Double.pi * min(1, t))))
  }
}

/// What one epoch of `SupervisedTrainer` gave: the mean of its steps' losses and the share of right
/// predictions over the epoch's training batches (images, or counted pixels), in percent.
public struct SupervisedEpoch: Sendable {
  public var loss: Float
  public var accuracy: Double
}

public final class SupervisedTrainer {
  public let network: SwapNetwork
  public let settings: SupervisedSettings
  public let set: SwapSet
  public var optimizer: AdamW
  public var order: BatchOrder
  public private(set) var epoch = 0
  private let images = ReusedTensor(), dLogits = ReusedTensor()
  private let dropout: DropoutSchedule

  public init(network: SwapNetwork, settings: SupervisedSettings, set: SwapSet, seed: UInt64) {
    self.network = network
    self.settings = settings
    self.set = set
    optimizer = AdamW(parameters: network.trainable, weightDecay: settings.weightDecay)
    dropout = DropoutSchedule(probability: settings.dropout, seed: seed, purpose: "pretrain dropout")
    order = BatchOrder(
      count: set.count, batchSize: settings.batchSize,
      generator: SeededGenerator(seed: seed).derived("pretrain order"))
  }

  public var finished: Bool { epoch >= settings.epochs }

  /// One pass over the set; `progress` gets (step, steps, loss, rate) after each step.
  @discardableResult
  public func runEpoch(progress: (Int, Int, Float, Float) -> Void = { _, _, _, _ in }) -> SupervisedEpoch {
    let steps = order.batchesPerPass
    let total = steps * settings.epochs
    order.reshuffle()
    var sum: Float = 0
    var (correct, counted) = (0, 0)
    let parameters = network.trainable
    for step in 1...steps {
      let indices = order.next()
      let batch = images.shaped(set.batchShape(indices.count))
      set.write(indices, into: batch)
      let logits = network.trainingForward(batch, dropout: dropout.masks(step: optimizer.state.step))
      let gradient = dLogits.shaped(logits.shape)
      let loss = set.loss(logits: logits, rows: 0..<indices.count, items: indices, gradient: gradient)
      let hits = set.hits(logits: logits, items: indices)
      correct += hits.correct
      counted += hits.counted
      for p in parameters { p.zeroGradient() }
      network.backward(gradient)
      let rate = settings.rate(step: epoch * steps + step - 1, total: total)
      optimizer.update(parameters, rate: rate)
      sum += loss
      progress(step, steps, loss, rate)
    }
    epoch += 1
    return SupervisedEpoch(
      loss: sum / Float(steps), accuracy: counted == 0 ? 0 : 100 * Double(correct) / Double(counted))
  }
}

extension SwapSet {
  /// How many of the predictions in `logits` (the network's, for the items `items`, in that order) are
  /// right, out of how many count: images, or pixels not ignored.
  func hits(logits: Tensor, items: [Int]) -> (correct: Int, counted: Int) {
    switch self {
    case .labeled(let set):
      return (zip(argmaxRows(logits), items).filter { $0 == set.labels[$1] }.count, items.count)
    case .segmented(let set):
      var scores = PixelScores(classes: logits.shape[1])
      scores.add(predictions: argmaxPixels(logits), masks: set.maskBatch(items), images: items.count)
      return (scores.correct, scores.counted)
    }
  }
}
