// The two stage objectives of the paper's classification code, on one forward pass over a joined
// batch: the first rows come from the stage's own set (learn or forget), the rest from the retain
// stream. Joining is exact here because the network has no batch-coupled layers.
//
//   learning stage:    L = CE(learn) + beta * CE(retain) + alpha * groupSparse
//   forgetting stage:  L = CE(retain) + beta * relu(BND - CE(forget)) + alpha * groupSparse
//
// The group-sparse term acts on parameters, not logits, and is added by the trainer.

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

/// Loss and dLoss/dLogits of a stage on a joined batch of `stageRows` + `retainLabels.count` rows.
/// The returned terms leave `groupSparse` at zero and `total` without it.
public func stageObjective(
  _ kind: StageKind, logits: [Float], stageLabels: [Int], retainLabels: [Int], classes: Int,
  weights: LossWeights
) -> (terms: LossTerms, gradient: [Float]) {
  let split = stageLabels.count * classes
  let stage = crossEntropy(logits: Array(logits[..<split]), labels: stageLabels, classes: classes)
  let retain = crossEntropy(logits: Array(logits[split...]), labels: retainLabels, classes: classes)
  var terms = LossTerms()
  terms.stageCE = stage.loss
  terms.retainCE = retain.loss
  let stageScale: Float
  let retainScale: Float
  switch kind {
  case .learn:
    stageScale = 1
    retainScale = weights.beta
    terms.total = stage.loss + weights.beta * retain.loss
  case .forget:
    let bounded = boundedForgetting(crossEntropy: stage.loss, bound: weights.bound)
    stageScale = weights.beta * bounded.slope
    retainScale = 1
    terms.total = retain.loss + weights.beta * bounded.value
  }
  var gradient = [Float](repeating: 0, count: logits.count)
  if stageScale != 0 {
    for i in 0..<split { gradient[i] = stageScale * stage.gradient[i] }
  }
  for i in 0..<retain.gradient.count { gradient[split + i] = retainScale * retain.gradient[i] }
  return (terms, gradient)
}
