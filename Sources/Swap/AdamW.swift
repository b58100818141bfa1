import Foundation
import Tensors
import ViT

/// AdamW with decoupled weight decay, as torch.optim.AdamW: bias-corrected moments, decay applied as
/// p -= lr * wd * p before the Adam step, and, as timm groups parameters, no decay on biases, norms,
/// the class token and the position embedding. Unlike the engine's `AdamW` its moments and step count
/// are plain values, so a training state file can save them and a resumed run continue exactly.
public struct ResumableAdamW: Sendable {
  public var beta1: Float = 0.9
  public var beta2: Float = 0.999
  public var epsilon: Float = 1e-8
  public var weightDecay: Float
  public var step: Int = 0
  public var firstMoments: [[Float]]
  public var secondMoments: [[Float]]

  public init(parameters: [Parameter], weightDecay: Float) {
    self.weightDecay = weightDecay
    firstMoments = parameters.map { [Float](repeating: 0, count: $0.value.count) }
    secondMoments = firstMoments
  }

  /// One update of every parameter from its gradient at learning rate `rate`.
  public mutating func update(_ parameters: [Parameter], rate: Float) {
    precondition(parameters.count == firstMoments.count, "optimiser state is for other parameters")
    step += 1
    let correction1 = 1 - pow(Double(beta1), Double(step))
    let correction2 = 1 - pow(Double(beta2), Double(step))
    let stepSize = Float(Double(rate) / correction1)
    let rootCorrection2 = Float(correction2.squareRoot())
    let (b1, b2, eps) = (beta1, beta2, epsilon)
    for (index, parameter) in parameters.enumerated() {
      let decay: Float = parameter.decaysInAdamW ? 1 - rate * weightDecay : 1
      let p = parameter.value.pointer
      let g = parameter.requiredGradient.pointer
      firstMoments[index].withUnsafeMutableBufferPointer { m in
        secondMoments[index].withUnsafeMutableBufferPointer { v in
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
