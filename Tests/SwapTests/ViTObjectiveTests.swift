import SeededRandom
import Tensors
import Testing
import ViT

@testable import Swap

/// The gradient a stage step applies (loss terms back-propagated through the ViT plus alpha times the
/// group-sparse gradient) against central finite differences of the whole objective, for both stages.
@Suite struct ViTObjectiveTests {
  func setUp(_ kind: StageKind, bound: Float) -> (StageTrainer, [Int], [Int]) {
    var generator = SeededGenerator(seed: 5)
    let config = ViTConfig(imageSize: 4, patchSize: 2, channels: 1, dim: 8, depth: 2, heads: 2, mlpDim: 12, classes: 4)
    let network = loraNetwork(
      config, lora: LoRAConfig(rank: 2, alpha: 2, initialization: .paper), bScale: 0.5, generator: &generator)
    var random = SeededGenerator(seed: 1)
    func set(_ labels: [Int]) -> LabeledImages {
      LabeledImages(
        pixels: .floats((0..<(labels.count * 16)).map { _ in random.uniform(0, 1) }), labels: labels,
        channels: 1, height: 4, width: 4, mean: [0.5], std: [0.25])
    }
    var settings = StageSettings(kind: kind)
    settings.weights = LossWeights(beta: 0.3, alpha: 0.05, bound: bound)
    // Dropout on: computeGradients draws the masks of the optimiser's next step, the same on every call
    // here (no update), so the objective differentiated below is a fixed function.
    settings.dropout = 0.1
    let trainer = StageTrainer(
      network: network, settings: settings, stageSet: set([0, 3, 3]),
      retainSet: set([1, 2, 0, 1]), seed: 0)
    return (trainer, [0, 1, 2], [0, 1, 2, 3])
  }

  func check(_ kind: StageKind, bound: Float) {
    let (trainer, stage, retain) = setUp(kind, bound: bound)
    let network = trainer.network
    #expect(network.sparseGroups.count == 2 && network.sparseGroups.allSatisfy { $0.count == 4 })
    _ = trainer.computeGradients(stageIndices: stage, retainIndices: retain)
    let analytic = network.trainable.map { $0.requiredGradient.scalars }
    var worst: Float = 0
    for (p, parameter) in network.trainable.enumerated() {
      for i in stride(from: 0, to: parameter.value.count, by: 5) {
        let x = parameter.value.pointer[i]
        let h: Float = 1e-2
        parameter.value.pointer[i] = x + h
        let up = trainer.computeGradients(stageIndices: stage, retainIndices: retain).total
        parameter.value.pointer[i] = x - h
        let down = trainer.computeGradients(stageIndices: stage, retainIndices: retain).total
        parameter.value.pointer[i] = x
        let numeric = (up - down) / (2 * h)
        worst = max(worst, abs(numeric - analytic[p][i]) / max(1e-2, abs(numeric) + abs(analytic[p][i])))
      }
    }
    print("\(kind) stage objective, dropout \(trainer.settings.dropout): worst relative gradient error \(worst)")
    #expect(worst < 2e-2, "worst relative gradient error \(worst)")
  }

  @Test func learningStageGradientMatchesFiniteDifferences() { check(.learn, bound: 0) }
  @Test func forgettingStageGradientMatchesFiniteDifferences() { check(.forget, bound: 105) }

  @Test func forgettingPastTheBoundLeavesOnlyRetainAndSparsity() {
    // With BND below the forget CE the forget term is 0: the objective is CE(retain) + alpha * GS.
    let (trainer, stage, retain) = setUp(.forget, bound: 0.01)
    let terms = trainer.computeGradients(stageIndices: stage, retainIndices: retain)
    #expect(abs(terms.total - (terms.retainCE + 0.05 * terms.groupSparse)) < 1e-5)
  }
}

@Suite struct FreshAdapterTests {
  /// A fresh adapter has B = 0, so only B gets gradient on the first step; it must get some.
  @Test func freshLoRAGetsAGradientInB() {
    var generator = SeededGenerator(seed: 5)
    let config = ViTConfig(imageSize: 4, patchSize: 2, channels: 1, dim: 8, depth: 2, heads: 2, mlpDim: 12, classes: 4)
    let model = VisionTransformer(config: config, generator: &generator)
    model.addLoRA(LoRAConfig(rank: 2, alpha: 1, initialization: .paper), generator: &generator)
    let network = ViTNetwork(model: model)
    network.setTrainable(.lora)
    var random = SeededGenerator(seed: 1)
    _ = network.trainingForward(
      Tensor.uniform(shape: [3, 1, 4, 4], low: 0, high: 1, generator: &random), dropout: nil)
    for p in network.trainable { p.zeroGradient() }
    network.backward(Tensor.uniform(shape: [3, 4], low: -0.5, high: 0.5, generator: &random))
    for p in network.trainable where p.name.contains("lora_B") {
      #expect(p.requiredGradient.scalars.contains { $0 != 0 }, "\(p.name) has no gradient")
    }
  }
}

extension FreshAdapterTests {
  @Test func aForgettingStepMovesAFreshAdapter() {
    var generator = SeededGenerator(seed: 5)
    let config = ViTConfig(imageSize: 4, patchSize: 2, channels: 1, dim: 8, depth: 2, heads: 2, mlpDim: 12, classes: 4)
    let model = VisionTransformer(config: config, generator: &generator)
    model.addLoRA(LoRAConfig(rank: 2, alpha: 1, initialization: .paper), generator: &generator)
    let network = ViTNetwork(model: model)
    network.setTrainable(.lora)
    var random = SeededGenerator(seed: 1)
    func set(_ labels: [Int]) -> LabeledImages {
      LabeledImages(
        pixels: .floats((0..<(labels.count * 16)).map { _ in random.uniform(0, 1) }), labels: labels,
        channels: 1, height: 4, width: 4, mean: [0.5], std: [0.25])
    }
    let trainer = StageTrainer(
      network: network, settings: StageSettings(kind: .forget), stageSet: set([0, 0]),
      retainSet: set([1, 2, 3]), seed: 0)
    trainer.runEpoch()
    for p in network.trainable where p.name.contains("lora_B") {
      #expect(p.value.scalars.contains { abs($0) > 1e-3 }, "\(p.name) did not move")
    }
  }
}
