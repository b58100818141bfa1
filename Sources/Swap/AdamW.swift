// kswap's one optimiser.

import Foundation
import Tensors
import ViT

/// AdamW with decoupled weight decay, step for step as `torch.optim.AdamW` (amsgrad off): for each
/// parameter p with gradient g at step t,
///
///     p <- p * (1 - lr * wd)      (matrices only, as timm groups parameters: no decay on biases,
///                                  norms, the class token or the position embedding)
///     m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
///     p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
///
/// Its whole state (`state`: the step count and both moments) is plain values, so a training state
/// file can save it and a later stage or a resumed run continue it exactly.
public struct AdamW: Sendable {
  public var beta1: Float = 0.9
  public var beta2: Float = 0.999
  public var epsilon: Float = 1e-8
  public var weightDecay: Float
  public var state: State

  /// Steps taken and the moments, one array per parameter in the order `update` receives them.
  public struct State: Sendable, Equatable {
    public var step: Int
    public var firstMoments: [[Float]]
    public var secondMoments: [[Float]]

    /// Zero moments for parameters of these element counts.
    public init(counts: [Int]) {
      step = 0
      firstMoments = counts.map { [Float](repeating: 0, count: $0) }
      secondMoments = firstMoments
    }

    /// Whether this state fits parameters of these element counts.
    public func fits(counts: [Int]) -> Bool {
      firstMoments.map(\.count) == counts && secondMoments.map(\.count) == counts
    }
  }

  /// A fresh optimiser for `parameters`.
  public init(parameters: [Parameter], weightDecay: Float) {
    self.weightDecay = weightDecay
    state = State(counts: parameters.map(\.value.count))
  }

  /// One update of every parameter from its gradient at learning rate `rate`.
  public mutating func update(_ parameters: [Parameter], rate: Float) {
    precondition(state.fits(counts: parameters.map(\.value.count)), "optimiser state is for other parameters")
    state.step += 1
    let correction1 = 1 - pow(Double(beta1), Double(state.step))
    let correction2 = 1 - pow(Double(beta2), Double(state.step))
    let stepSize = Float(Double(rate) / correction1)
    let rootCorrection2 = Float(correction2.squareRoot())
    let (b1, b2, eps) = (beta1, beta2, epsilon)
    for (index, parameter) in parameters.enumerated() {
      let decay: Float = parameter.decaysInAdamW ? 1 - rate * weightDecay : 1
      let p = parameter.value.pointer
      let g = parameter.requiredGradient.pointer
      state.firstMoments[index].withUnsafeMutableBufferPointer { m in
        state.secondMoments[index].withUnsafeMutableBufferPointer { v in
          for i in 0..<m.count {
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            p[i] = p[i] * decay - stepSize * m[i] / (v[i].squareRoot() / rootCorrection2 + eps)
          }
        }
      }
    }
  }
}
