// kswap's one optimiser.

import Foundation
import TensorFile
import Tensors
import ViT
import WeightSurgery

/// AdamW with decoupled weight decay, step for step as `torch.optim.AdamW` (amsgrad off): for each
/// parameter p with gradient g at step t,
///
///     p <- p * (1 - lr * wd)      (matrices only, as timm groups parameters: no decay on biases,
///                                  norms, the class token or the position embedding)
///     m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
///     p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
///
/// Its whole state (`state`: the step count and both moments) is plain values, so an adapter or a
/// training state file can save it (`SavedOptimizerState`) and a later stage or a resumed run continue
/// it exactly.
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

extension AdamW.State {
  /// The name a parameter's moments are saved under: its tensor's name in an adapter (PEFT's).
  public static func savedName(of parameter: Parameter) -> String { AdapterNames.full(parameter.name) }

  /// The state for saving, each parameter's moments under `savedName(of:)`; `parameters` are the ones
  /// `update` takes, in its order.
  public func saved(parameters: [Parameter]) -> SavedOptimizerState {
    precondition(fits(counts: parameters.map(\.value.count)), "optimiser state is for other parameters")
    var moments: [String: SavedOptimizerState.Moments] = [:]
    for (index, parameter) in parameters.enumerated() {
      moments[Self.savedName(of: parameter)] = SavedOptimizerState.Moments(
        shape: parameter.value.shape, first: firstMoments[index], second: secondMoments[index])
    }
    return SavedOptimizerState(step: step, moments: moments)
  }

  /// The state `saved` holds for `parameters`, with its step count. A parameter it has no moments for
  /// starts at zero and is listed in `absent`; moments of a head that has since gained rows are kept for
  /// the old rows (the new ones start at zero). Moments for tensors that do not train now are dropped.
  /// Refuses moments of any other shape than their parameter's, naming `file`.
  public static func restoring(
    _ saved: SavedOptimizerState, parameters: [Parameter], file: String
  ) throws -> (state: AdamW.State, absent: [String]) {
    var state = AdamW.State(counts: parameters.map(\.value.count))
    state.step = saved.step
    var absent: [String] = []
    for (index, parameter) in parameters.enumerated() {
      let name = savedName(of: parameter)
      guard let moments = saved.moments[name] else {
        absent.append(name)
        continue
      }
      let shape = parameter.value.shape
      let count = moments.shape.reduce(1, *)
      guard moments.first.count == count, moments.second.count == count,
        moments.shape == shape || Self.isLeadingRows(moments.shape, of: shape)
      else {
        throw SwapError(
          .mismatch, file: file, "optimizer state of '\(name)' has shape \(moments.shape); the parameter has \(shape)")
      }
      state.firstMoments[index].replaceSubrange(0..<moments.first.count, with: moments.first)
      state.secondMoments[index].replaceSubrange(0..<moments.second.count, with: moments.second)
    }
    return (state, absent)
  }

  /// The state as a tensor file stores it (`SavedOptimizerState`): its metadata entry and tensors.
  public func fileContents(parameters: [Parameter], file: String) throws -> (
    metadata: [String: String], tensors: [(info: TensorInfo, bytes: [UInt8])]
  ) {
    try saved(parameters: parameters).fileContents(file: file)
  }

  /// The state a seekable tensor file holds for `parameters` (see `restoring`); nil when it holds none.
  public static func read(
    _ reader: TensorReader, parameters: [Parameter], file: String
  ) throws -> (state: AdamW.State, absent: [String])? {
    let saved = try SavedOptimizerState.read(reader, file: file)
    return try saved.map { try restoring($0, parameters: parameters, file: file) }
  }

  /// Whether `saved` is `shape` with fewer rows (a head before new classes' rows were appended).
  static func isLeadingRows(_ saved: [Int], of shape: [Int]) -> Bool {
    saved.count == shape.count && !shape.isEmpty && saved.dropFirst() == shape.dropFirst() && saved[0] <= shape[0]
  }
}
