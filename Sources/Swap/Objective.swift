// The two stage objectives of the paper's classification code, on one forward pass over a joined
// batch: the first rows come from the stage's own set (learn or forget), the rest from the retain
// stream. Joining is exact here because the network has no batch-coupled layers.
//
//   learning stage:    L = CE(learn) + beta * CE(retain) + alpha * groupSparse
//   forgetting stage:  L = CE(retain) + beta * relu(BND - CE(forget)) + alpha * groupSparse
//
// The group-sparse term acts on parameters, not logits, and is added by the trainer.

import Tensors

public enum StageKind: String, Sendable, Codable {
  case learn, forget
}

/// Loss coefficients of one stage; the defaults are the paper's (classification).
public struct LossWeights: Sendable, Equatable {
  public var beta: Float = 0.2
  public var alpha: Float = 0.005
  public var bound: Float = 105
  public init(beta: Float = 0.2, alpha: Float = 0.005, bound: Float = 105) {
    self.beta = beta
    self.alpha = alpha
    self.bound = bound
  }
}

/// The value of each term on one step, for progress lines and logs.
public struct LossTerms: Sendable, Equatable {
  /// CE on the stage's own rows (learn or forget set).
  public var stageCE: Float = 0
  /// CE on the retain rows.
  public var retainCE: Float = 0
  /// The unweighted group-sparse value.
  public var groupSparse: Float = 0
  /// The full objective.
  public var total: Float = 0
  public init() {}
}

/// The stage's loss on a joined batch of `stageLabels.count` + `retainLabels.count` rows of `logits`,
/// and d(loss)/d(logits) written into `gradient` (same shape). The returned terms leave
/// `groupSparse` at zero and `total` without it.
public func stageObjective(
  _ kind: StageKind, logits: Tensor, stageLabels: [Int], retainLabels: [Int], weights: LossWeights,
  gradient: Tensor
) -> LossTerms {
  precondition(gradient.shape == logits.shape, "gradient \(gradient.shape) for logits \(logits.shape)")
  let stageRows = 0..<stageLabels.count
  let retainRows = stageLabels.count..<(stageLabels.count + retainLabels.count)
  var terms = LossTerms()
  switch kind {
  case .learn:
    terms.stageCE = crossEntropy(logits: logits, rows: stageRows, labels: stageLabels, gradient: gradient)
    terms.retainCE = crossEntropy(
      logits: logits, rows: retainRows, labels: retainLabels, weight: weights.beta, gradient: gradient)
    terms.total = terms.stageCE + weights.beta * terms.retainCE
  case .forget:
    // The forget rows' weight depends on their loss, so measure it before writing their gradient.
    terms.stageCE = crossEntropy(logits: logits, rows: stageRows, labels: stageLabels)
    let bounded = boundedForgetting(crossEntropy: terms.stageCE, bound: weights.bound)
    crossEntropy(
      logits: logits, rows: stageRows, labels: stageLabels, weight: weights.beta * bounded.slope, gradient: gradient)
    terms.retainCE = crossEntropy(logits: logits, rows: retainRows, labels: retainLabels, gradient: gradient)
    terms.total = terms.retainCE + weights.beta * bounded.value
  }
  return terms
}
