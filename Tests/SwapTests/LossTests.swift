import Foundation
import Tensors
import Testing
@testable import Swap
import SeededRandom

@Suite struct LossTests {
  @Test func crossEntropyMatchesHandComputation() {
    // Row 1: logits (0, 0), label 0: p = (1/2, 1/2), loss ln 2.
    // Row 2: logits (ln 3, 0), label 1: p = (3/4, 1/4), loss ln 4. Mean 1.5 ln 2; gradient (p - onehot) / 2.
    let (loss, gradient) = crossEntropy(logits: [0, 0, Float(log(3.0)), 0], labels: [0, 1], classes: 2)
    #expect(abs(loss - Float(1.5 * log(2.0))) < 1e-6)
    let expected: [Float] = [-0.25, 0.25, 0.375, -0.375]
    for (g, e) in zip(gradient, expected) { #expect(abs(g - e) < 1e-6) }
  }

  @Test func crossEntropyStaysFiniteForHugeLogits() {
    let (loss, gradient) = crossEntropy(logits: [1000, -1000, 0], labels: [1], classes: 3)
    #expect(abs(loss - 2000) < 1e-2)
    #expect(gradient.allSatisfy { $0.isFinite })
    #expect(abs(gradient[0] - 1) < 1e-6 && abs(gradient[1] + 1) < 1e-6)
  }

  @Test func crossEntropyGradientMatchesFiniteDifferences() {
    var generator = SeededGenerator(seed: 7)
    let logits = (0..<12).map { _ in generator.uniform(0, 1) * 4 - 2 }
    let labels = [2, 0, 3]
    let (_, gradient) = crossEntropy(logits: logits, labels: labels, classes: 4)
    for i in logits.indices {
      var up = logits, down = logits
      up[i] += 1e-2
      down[i] -= 1e-2
      let numeric = (crossEntropy(logits: up, labels: labels, classes: 4).loss
        - crossEntropy(logits: down, labels: labels, classes: 4).loss) / 2e-2
      #expect(abs(numeric - gradient[i]) < 1e-3)
    }
  }

  @Test func boundedForgettingStopsAtTheBound() {
    #expect(boundedForgetting(crossEntropy: 100, bound: 105) == (5, -1))
    #expect(boundedForgetting(crossEntropy: 105, bound: 105) == (0, 0))
    #expect(boundedForgetting(crossEntropy: 230, bound: 105) == (0, 0))
  }

  @Test func groupSparseIsSumOfGroupNorms() {
    // Group 1: matrices (3) and (4): norm 5, gradients 3/5 and 4/5. Group 2 is all zero: value 0 and
    // the zero subgradient, not NaN.
    let (value, gradients) = groupSparse([[[3], [4]], [[0, 0], [0]]])
    #expect(abs(value - 5) < 1e-6)
    #expect(gradients[0] == [[0.6], [0.8]])
    #expect(gradients[1] == [[0, 0], [0]])
  }

  @Test func groupSparseGradientMatchesFiniteDifferences() {
    var generator = SeededGenerator(seed: 3)
    let groups: [[[Float]]] = (0..<3).map { _ in (0..<4).map { _ in (0..<5).map { _ in generator.uniform(0, 1) - 0.5 } } }
    let (_, gradients) = groupSparse(groups)
    for g in groups.indices {
      for m in groups[g].indices {
        for i in groups[g][m].indices {
          var up = groups, down = groups
          up[g][m][i] += 1e-3
          down[g][m][i] -= 1e-3
          let numeric = (groupSparse(up).value - groupSparse(down).value) / 2e-3
          #expect(abs(numeric - gradients[g][m][i]) < 2e-3)
        }
      }
    }
  }

  @Test func learningObjectiveWeighsRetainByBeta() {
    // One learn row and one retain row, both logits (0, 0): each CE is ln 2.
    let weights = LossWeights(beta: 0.2, alpha: 0, bound: 105)
    let (terms, gradient) = stageObjective(.learn, logits: [0, 0, 0, 0], stageLabels: [0], retainLabels: [1],
                                           classes: 2, weights: weights)
    #expect(abs(terms.total - 1.2 * Float(log(2.0))) < 1e-6)
    #expect(gradient == [-0.5, 0.5, 0.1, -0.1])
  }

  @Test func forgettingObjectiveAscendsUntilTheBound() {
    let weights = LossWeights(beta: 0.2, alpha: 0, bound: 105)
    // Forget CE ln 2 < 105: the forget rows get -beta * dCE; retain rows get dCE.
    let below = stageObjective(.forget, logits: [0, 0, 0, 0], stageLabels: [0], retainLabels: [1], classes: 2,
                               weights: weights)
    #expect(abs(below.terms.total - (Float(log(2.0)) + 0.2 * (105 - Float(log(2.0))))) < 1e-4)
    #expect(below.gradient == [0.1, -0.1, 0.5, -0.5])
    // Forget CE 200 >= 105: the forget term and its gradient vanish.
    let above = stageObjective(.forget, logits: [-100, 100, 0, 0], stageLabels: [0], retainLabels: [1],
                               classes: 2, weights: weights)
    #expect(abs(above.terms.total - Float(log(2.0))) < 1e-6)
    #expect(Array(above.gradient[0..<2]) == [0, 0])
  }
}
