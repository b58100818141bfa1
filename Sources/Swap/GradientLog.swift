// The paper's gradient analysis (its code's `learn_grad_*.json`): for every trainable tensor, the
// average over a stage's steps so far of mean(g) and mean(|g|) over the tensor's elements, one JSON
// line per step (Formats/grad-log.md). Unlike the paper's code, every line is a true running average.

import TensorFile
import ViT

/// Running averages of each trainable parameter's gradient over the steps of a stage.
public struct GradientLog {
  /// The parameters' names, in the order of every line's arrays.
  public let names: [String]
  private var sumOfMeans: [Double]
  private var sumOfAbsoluteMeans: [Double]
  /// Steps recorded.
  public private(set) var steps = 0

  public init(names: [String]) {
    self.names = names
    sumOfMeans = Array(repeating: 0, count: names.count)
    sumOfAbsoluteMeans = sumOfMeans
  }

  /// Adds one step's gradients (the parameters in `names`' order, each with its gradient).
  public mutating func record(_ parameters: [Parameter]) {
    precondition(parameters.map(\.name) == names, "the gradient log is for other parameters")
    for (index, parameter) in parameters.enumerated() {
      let g = parameter.requiredGradient
      var sum = 0.0, absoluteSum = 0.0
      for i in 0..<g.count {
        let v = Double(g.pointer[i])
        sum += v
        absoluteSum += abs(v)
      }
      let count = Double(max(g.count, 1))
      sumOfMeans[index] += sum / count
      sumOfAbsoluteMeans[index] += absoluteSum / count
    }
    steps += 1
  }

  /// The first line of a log: what it is, the stage and the parameter names.
  public static func header(stage: StageKind, names: [String], stepsPerEpoch: Int, epochs: Int) -> String {
    JSON.object([
      ("format", .string("kswap.grad-log")), ("version", .integer(1)), ("stage", .string(stage.rawValue)),
      ("epochs", .integer(epochs)), ("steps_per_epoch", .integer(stepsPerEpoch)),
      ("parameters", .array(names.map(JSON.string))),
    ]).text()
  }

  /// The line after `steps` steps: the averages so far, aligned with `names`.
  public func line(epoch: Int) -> String {
    let n = Double(max(steps, 1))
    return JSON.object([
      ("step", .integer(steps)), ("epoch", .integer(epoch)),
      ("mean", .array(sumOfMeans.map { .number($0 / n) })),
      ("mean_abs", .array(sumOfAbsoluteMeans.map { .number($0 / n) })),
    ]).text()
  }
}
