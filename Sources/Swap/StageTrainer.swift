// One training stage (learning or forgetting) as the paper's classification code runs it: an epoch is
// one shuffled pass over the retain stream; each retain batch is paired with the next batch of the
// stage's own set (learn or forget), which cycles; AdamW at a per-epoch cosine rate. The sets are of
// either task (`SwapSet`), which picks the loss: the same loop trains a classifier and a segmentation
// model. The trainer reports by callback and never prints; the caller saves `state` between epochs to
// make runs resumable.

import Foundation
import SeededRandom
import Tensors
import ViT

public struct StageSettings: Sendable {
  public var kind: StageKind
  public var epochs: Int = 5
  public var batchSize: Int = 80
  public var peakRate: Float = 1e-2
  public var floorRate: Float = 1e-5
  public var weightDecay: Float = 0.05
  public var weights = LossWeights()
  /// Dropout probability in training forwards (the official ViT's 0.1; 0 turns it off).
  public var dropout: Float = 0.1
  public init(kind: StageKind) { self.kind = kind }
}

/// Everything that changes during a stage besides the parameter values.
public struct StageState: Sendable {
  /// Completed epochs.
  public var epoch: Int
  public var optimizer: AdamW
  public var stageOrder: BatchOrder
  public var retainOrder: BatchOrder
}

/// A step's numbers, for the progress line.
public struct StepReport: Sendable {
  public var kind: StageKind
  public var epoch: Int  // 1-based
  public var epochs: Int
  public var step: Int  // 1-based within the epoch
  public var steps: Int
  public var terms: LossTerms
  public var rate: Float
  public var imagesPerSecond: Double
  /// Estimated seconds left in the stage.
  public var secondsLeft: Double
}

/// An epoch's averages, for the per-epoch log line.
public struct EpochReport: Sendable {
  public var kind: StageKind
  public var epoch: Int  // 1-based
  public var epochs: Int
  public var mean: LossTerms
  public var rate: Float
  public var seconds: Double
  public var images: Int
}

public final class StageTrainer {
  public let network: SwapNetwork
  public let settings: StageSettings
  public let stageSet: SwapSet
  public let retainSet: SwapSet
  public var state: StageState
  private var secondsPerStep: Double = 0
  private let dropout: DropoutSchedule
  private let images = ReusedTensor(), dLogits = ReusedTensor()

  /// `optimizer` carries moments over from an earlier stage (the paper's classification code keeps one
  /// AdamW for both stages); nil starts fresh ones. The two sets are of one task, the network's.
  public init(
    network: SwapNetwork, settings: StageSettings, stageSet: SwapSet, retainSet: SwapSet,
    seed: UInt64, optimizer: AdamW? = nil
  ) {
    precondition(stageSet.count > 0 && retainSet.count > 0, "empty training set")
    precondition(stageSet.task == retainSet.task, "a \(stageSet.task) stage set with a \(retainSet.task) retain set")
    self.network = network
    self.settings = settings
    self.stageSet = stageSet
    self.retainSet = retainSet
    let root = SeededGenerator(seed: seed)
    dropout = DropoutSchedule(
      probability: settings.dropout, seed: seed, purpose: "\(settings.kind.rawValue) dropout")
    var adam = optimizer ?? AdamW(parameters: network.trainable, weightDecay: settings.weightDecay)
    adam.weightDecay = settings.weightDecay
    state = StageState(
      epoch: 0, optimizer: adam,
      stageOrder: BatchOrder(
        count: stageSet.count, batchSize: settings.batchSize,
        generator: root.derived("\(settings.kind.rawValue)-set order")),
      retainOrder: BatchOrder(
        count: retainSet.count, batchSize: settings.batchSize,
        generator: root.derived("retain order")))
  }

  /// A classification stage on labelled images.
  public convenience init(
    network: SwapNetwork, settings: StageSettings, stageSet: LabeledImages, retainSet: LabeledImages,
    seed: UInt64, optimizer: AdamW? = nil
  ) {
    self.init(
      network: network, settings: settings, stageSet: .labeled(stageSet), retainSet: .labeled(retainSet), seed: seed,
      optimizer: optimizer)
  }

  public var finished: Bool { state.epoch >= settings.epochs }
  public var stepsPerEpoch: Int { state.retainOrder.batchesPerPass }

  /// Runs the next epoch; `progress` is called after every step.
  @discardableResult
  public func runEpoch(progress: (StepReport) -> Void = { _ in }) -> EpochReport {
    let schedule = CosineSchedule(peak: settings.peakRate, floor: settings.floorRate, epochs: settings.epochs)
    let rate = schedule.rate(epoch: state.epoch)
    let steps = stepsPerEpoch
    state.retainOrder.reshuffle()
    var sums = LossTerms()
    var images = 0
    let clock = ContinuousClock()
    let start = clock.now
    for step in 1...steps {
      let stepStart = clock.now
      let stageIndices = state.stageOrder.next()
      let retainIndices = state.retainOrder.next()
      let terms = trainStep(stageIndices: stageIndices, retainIndices: retainIndices, rate: rate)
      sums.stageCE += terms.stageCE
      sums.retainCE += terms.retainCE
      sums.groupSparse += terms.groupSparse
      sums.total += terms.total
      let count = stageIndices.count + retainIndices.count
      images += count
      let seconds = (clock.now - stepStart).seconds
      secondsPerStep = secondsPerStep == 0 ? seconds : 0.9 * secondsPerStep + 0.1 * seconds
      let stepsLeft = Double(steps - step + (settings.epochs - state.epoch - 1) * steps)
      progress(
        StepReport(
          kind: settings.kind, epoch: state.epoch + 1, epochs: settings.epochs, step: step,
          steps: steps, terms: terms, rate: rate,
          imagesPerSecond: seconds > 0 ? Double(count) / seconds : 0,
          secondsLeft: stepsLeft * secondsPerStep))
    }
    state.epoch += 1
    let n = Float(steps)
    var mean = LossTerms()
    mean.stageCE = sums.stageCE / n
    mean.retainCE = sums.retainCE / n
    mean.groupSparse = sums.groupSparse / n
    mean.total = sums.total / n
    return EpochReport(
      kind: settings.kind, epoch: state.epoch, epochs: settings.epochs, mean: mean, rate: rate,
      seconds: (clock.now - start).seconds, images: images)
  }

  /// One optimisation step on a joined batch; returns the loss terms before the update.
  public func trainStep(stageIndices: [Int], retainIndices: [Int], rate: Float) -> LossTerms {
    let terms = computeGradients(stageIndices: stageIndices, retainIndices: retainIndices)
    state.optimizer.update(network.trainable, rate: rate)
    return terms
  }

  /// The stage objective on a joined batch and its gradient in every trainable parameter (replacing
  /// what the gradients held): back-propagated loss terms plus alpha times the group-sparse gradient.
  /// Dropout masks are those of the optimiser's next step: the same until it updates.
  public func computeGradients(stageIndices: [Int], retainIndices: [Int]) -> LossTerms {
    let batch = images.shaped(stageSet.batchShape(stageIndices.count + retainIndices.count))
    stageSet.write(stageIndices, into: batch)
    retainSet.write(retainIndices, into: batch, at: stageIndices.count)
    let logits = network.trainingForward(batch, dropout: dropout.masks(step: state.optimizer.state.step))
    let gradient = dLogits.shaped(logits.shape)
    let (stageSet, retainSet) = (self.stageSet, self.retainSet)
    let stageRows = 0..<stageIndices.count
    let retainRows = stageIndices.count..<(stageIndices.count + retainIndices.count)
    var terms = stageObjective(
      settings.kind,
      stageLoss: { stageSet.loss(logits: logits, rows: stageRows, items: stageIndices, weight: $0, gradient: $1) },
      retainLoss: { retainSet.loss(logits: logits, rows: retainRows, items: retainIndices, weight: $0, gradient: $1) },
      weights: settings.weights, gradient: gradient)
    for p in network.trainable { p.zeroGradient() }
    network.backward(gradient)
    terms.groupSparse = groupSparse(network.sparseGroups, gradientWeight: settings.weights.alpha)
    terms.total += settings.weights.alpha * terms.groupSparse
    return terms
  }
}

extension Duration {
  /// The duration in seconds, for rates and progress lines.
  public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
