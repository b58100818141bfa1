import Foundation
import SeededRandom
import Tensors
import Testing
import ViT

@testable import Swap

/// Cross-entropy of `logits` (rows of `classes`) against `labels`, and its gradient, through the
/// tensor API the trainer uses.
func crossEntropy(_ logits: [Float], labels: [Int], classes: Int) -> (loss: Float, gradient: [Float]) {
  let x = Tensor(shape: [labels.count, classes], values: logits)
  let g = Tensor(shape: x.shape)
  let loss = crossEntropy(logits: x, rows: 0..<labels.count, labels: labels, gradient: g)
  return (loss, g.scalars)
}

/// The stage objective on 2-class logits, returning the terms and d(loss)/d(logits).
func objective(_ kind: StageKind, _ logits: [Float], stage: [Int], retain: [Int], weights: LossWeights)
  -> (terms: LossTerms, gradient: [Float])
{
  let x = Tensor(shape: [stage.count + retain.count, 2], values: logits)
  let g = Tensor(shape: x.shape, repeating: .nan)  // every element must be written
  let terms = stageObjective(kind, logits: x, stageLabels: stage, retainLabels: retain, weights: weights, gradient: g)
  return (terms, g.scalars)
}

/// Matrices as trainable parameters (with zero gradients).
func parameters(_ groups: [[[Float]]]) -> [[Parameter]] {
  groups.map { group in
    group.map { values in
      let p = Parameter(name: "m", value: Tensor(shape: [values.count], values: values))
      p.isTrainable = true
      return p
    }
  }
}

@Suite struct LossTests {
  @Test func crossEntropyMatchesHandComputation() {
    // Row 1: logits (0, 0), label 0: p = (1/2, 1/2), loss ln 2.
    // Row 2: logits (ln 3, 0), label 1: p = (3/4, 1/4), loss ln 4. Mean 1.5 ln 2; gradient (p - onehot) / 2.
    let (loss, gradient) = crossEntropy([0, 0, Float(log(3.0)), 0], labels: [0, 1], classes: 2)
    #expect(abs(loss - Float(1.5 * log(2.0))) < 1e-6)
    let expected: [Float] = [-0.25, 0.25, 0.375, -0.375]
    for (g, e) in zip(gradient, expected) { #expect(abs(g - e) < 1e-6) }
  }

  @Test func crossEntropyStaysFiniteForHugeLogits() {
    let (loss, gradient) = crossEntropy([1000, -1000, 0], labels: [1], classes: 3)
    #expect(abs(loss - 2000) < 1e-2)
    #expect(gradient.allSatisfy { $0.isFinite })
    #expect(abs(gradient[0] - 1) < 1e-6 && abs(gradient[1] + 1) < 1e-6)
  }

  @Test func crossEntropyGradientMatchesFiniteDifferences() {
    var generator = SeededGenerator(seed: 7)
    let logits = (0..<12).map { _ in generator.uniform(0, 1) * 4 - 2 }
    let labels = [2, 0, 3]
    let (_, gradient) = crossEntropy(logits, labels: labels, classes: 4)
    for i in logits.indices {
      var up = logits, down = logits
      up[i] += 1e-2
      down[i] -= 1e-2
      let numeric =
        (crossEntropy(up, labels: labels, classes: 4).loss
          - crossEntropy(down, labels: labels, classes: 4).loss) / 2e-2
      #expect(abs(numeric - gradient[i]) < 1e-3)
    }
  }

  @Test func crossEntropyWritesOnlyItsRowsScaledByTheWeight() {
    let x = Tensor(shape: [3, 2], values: [0, 0, 0, 0, 0, 0])
    let g = Tensor(shape: [3, 2], repeating: 7)
    let loss = crossEntropy(logits: x, rows: 1..<3, labels: [0, 1], weight: 0.5, gradient: g)
    #expect(abs(loss - Float(log(2.0))) < 1e-6)
    #expect(g.scalars == [7, 7, -0.125, 0.125, 0.125, -0.125])
  }

  @Test func boundedForgettingStopsAtTheBound() {
    #expect(boundedForgetting(crossEntropy: 100, bound: 105) == (5, -1))
    #expect(boundedForgetting(crossEntropy: 105, bound: 105) == (0, 0))
    #expect(boundedForgetting(crossEntropy: 230, bound: 105) == (0, 0))
  }

  @Test func groupSparseIsSumOfGroupNorms() {
    // Group 1: matrices (3) and (4): norm 5, gradients 3/5 and 4/5 (times the weight 2). Group 2 is
    // all zero: value 0 and the zero subgradient, not NaN.
    let groups = parameters([[[3], [4]], [[0, 0], [0]]])
    let value = groupSparse(groups, gradientWeight: 2)
    #expect(abs(value - 5) < 1e-6)
    #expect(groups[0].map(\.gradient!.scalars) == [[1.2], [1.6]])
    #expect(groups[1].map(\.gradient!.scalars) == [[0, 0], [0]])
    #expect(groupSparse(groups) == value)  // no weight: the value only, gradients untouched
    #expect(groups[0][0].gradient!.scalars == [1.2])
  }

  @Test func groupSparseGradientMatchesFiniteDifferences() {
    var generator = SeededGenerator(seed: 3)
    let groups = parameters(
      (0..<3).map { _ in (0..<4).map { _ in (0..<5).map { _ in generator.uniform(0, 1) - 0.5 } } })
    groupSparse(groups, gradientWeight: 1)
    for group in groups {
      for matrix in group {
        for i in 0..<matrix.value.count {
          let saved = matrix.value.pointer[i]
          matrix.value.pointer[i] = saved + 1e-3
          let up = groupSparse(groups)
          matrix.value.pointer[i] = saved - 1e-3
          let down = groupSparse(groups)
          matrix.value.pointer[i] = saved
          #expect(abs((up - down) / 2e-3 - matrix.gradient!.pointer[i]) < 2e-3)
        }
      }
    }
  }

  @Test func learningObjectiveWeighsRetainByBeta() {
    // One learn row and one retain row, both logits (0, 0): each CE is ln 2.
    let weights = LossWeights(beta: 0.2, alpha: 0, bound: 105)
    let (terms, gradient) = objective(.learn, [0, 0, 0, 0], stage: [0], retain: [1], weights: weights)
    #expect(abs(terms.total - 1.2 * Float(log(2.0))) < 1e-6)
    #expect(gradient == [-0.5, 0.5, 0.1, -0.1])
  }

  @Test func forgettingObjectiveAscendsUntilTheBound() {
    let weights = LossWeights(beta: 0.2, alpha: 0, bound: 105)
    // Forget CE ln 2 < 105: the forget rows get -beta * dCE; retain rows get dCE.
    let below = objective(.forget, [0, 0, 0, 0], stage: [0], retain: [1], weights: weights)
    #expect(abs(below.terms.total - (Float(log(2.0)) + 0.2 * (105 - Float(log(2.0))))) < 1e-4)
    #expect(below.gradient == [0.1, -0.1, 0.5, -0.5])
    // Forget CE 200 >= 105: the forget term and its gradient vanish.
    let above = objective(.forget, [-100, 100, 0, 0], stage: [0], retain: [1], weights: weights)
    #expect(abs(above.terms.total - Float(log(2.0))) < 1e-6)
    #expect(Array(above.gradient[0..<2]) == [0, 0])
  }
}
