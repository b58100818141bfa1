// The two stage objectives of the paper's code, on one forward pass over a joined batch: the first
// rows (images) come from the stage's own set (learn or forget), the rest from the retain stream.
// Joining is exact here because the network has no batch-coupled layers. Each term is the task's
// loss on its rows: cross-entropy per image (classification) or per pixel (segmentation).
//
//   learning stage, classification:  L = CE(learn) + beta * CE(retain) + alpha * groupSparse
//   learning stage, segmentation:    L = beta * CE(learn) + CE(retain) + alpha * groupSparse
//   forgetting stage (both):         L = CE(retain) + beta * relu(BND - CE(forget)) + alpha * groupSparse
//
// The group-sparse term acts on parameters, not logits, and is added by the trainer.

import TensorFile
import Tensors

public enum StageKind: String, Sendable, Codable {
  case learn, forget
}

/// Which loss beta multiplies in the learning stage: the retain loss in the paper's classification
/// code, the learn loss in its segmentation (and detection) code (paper.md 2.2). In the forgetting
/// stage beta always multiplies the bounded forgetting term.
public enum LearningBeta: String, Sendable, Equatable {
  case retainLoss = "retain"
  case learnLoss = "learn"
}

/// Loss coefficients of one stage; the defaults are the paper's for classification (`paper(_:_:)` gives
/// each task's).
public struct LossWeights: Sendable, Equatable {
  public var beta: Float = 0.2
  public var alpha: Float = 0.005
  public var bound: Float = 105
  public var learningBeta: LearningBeta = .retainLoss
  public init(beta: Float = 0.2, alpha: Float = 0.005, bound: Float = 105, learningBeta: LearningBeta = .retainLoss) {
    self.beta = beta
    self.alpha = alpha
    self.bound = bound
    self.learningBeta = learningBeta
  }

  /// The coefficients of the paper's code for a `kind` stage of `task` (paper.md 2.2): classification
  /// beta 0.2 (on the retain loss when learning), alpha 0.005, BND 105; segmentation beta 0.9 on the
  /// learn loss when learning and 0.2 when forgetting, alpha 0.01, BND 115; detection the same with BND 15.
  public static func paper(_ task: DatasetLayout.Task, _ kind: StageKind) -> LossWeights {
    switch task {
    case .classification: return LossWeights()
    case .segmentation:
      return LossWeights(beta: kind == .learn ? 0.9 : 0.2, alpha: 0.01, bound: 115, learningBeta: .learnLoss)
    case .detection:
      return LossWeights(beta: kind == .learn ? 0.9 : 0.2, alpha: 0.01, bound: 15, learningBeta: .learnLoss)
    }
  }
}

/// The value of each term on one step, for progress lines and logs.
public struct LossTerms: Sendable, Equatable {
  /// The loss on the stage's own rows (learn or forget set), unweighted.
  public var stageCE: Float = 0
  /// The loss on the retain rows, unweighted.
  public var retainCE: Float = 0
  /// The unweighted group-sparse value.
  public var groupSparse: Float = 0
  /// The full objective.
  public var total: Float = 0
  public init() {}
}

/// One term's loss on its rows of a joined batch: the mean over those rows (or their counted pixels);
/// with a gradient tensor, also writes `weight` times its gradient into those rows of it.
public typealias TermLoss = (_ weight: Float, _ gradient: Tensor?) -> Float

/// The stage's loss from its two terms, and d(loss)/d(logits) written into `gradient` (each term
/// writes its own rows). The returned terms leave `groupSparse` at zero and `total` without it.
public func stageObjective(
  _ kind: StageKind, stageLoss: TermLoss, retainLoss: TermLoss, weights: LossWeights, gradient: Tensor
) -> LossTerms {
  var terms = LossTerms()
  switch kind {
  case .learn:
    let onLearn = weights.learningBeta == .learnLoss
    let (stageWeight, retainWeight) = onLearn ? (weights.beta, Float(1)) : (Float(1), weights.beta)
    terms.stageCE = stageLoss(stageWeight, gradient)
    terms.retainCE = retainLoss(retainWeight, gradient)
    terms.total = stageWeight * terms.stageCE + retainWeight * terms.retainCE
  case .forget:
    // The forget rows' weight depends on their loss, so measure it before writing their gradient.
    terms.stageCE = stageLoss(1, nil)
    let bounded = boundedForgetting(crossEntropy: terms.stageCE, bound: weights.bound)
    _ = stageLoss(weights.beta * bounded.slope, gradient)
    terms.retainCE = retainLoss(1, gradient)
    terms.total = terms.retainCE + weights.beta * bounded.value
  }
  return terms
}

/// `stageObjective` for classification logits (R x K) whose first `stageLabels.count` rows are the
/// stage's own images and the next `retainLabels.count` the retain stream's.
public func stageObjective(
  _ kind: StageKind, logits: Tensor, stageLabels: [Int], retainLabels: [Int], weights: LossWeights,
  gradient: Tensor
) -> LossTerms {
  precondition(gradient.shape == logits.shape, "gradient \(gradient.shape) for logits \(logits.shape)")
  let stageRows = 0..<stageLabels.count
  let retainRows = stageLabels.count..<(stageLabels.count + retainLabels.count)
  return stageObjective(
    kind,
    stageLoss: { crossEntropy(logits: logits, rows: stageRows, labels: stageLabels, weight: $0, gradient: $1) },
    retainLoss: { crossEntropy(logits: logits, rows: retainRows, labels: retainLabels, weight: $0, gradient: $1) },
    weights: weights, gradient: gradient)
}
