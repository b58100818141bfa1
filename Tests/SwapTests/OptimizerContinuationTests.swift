import Foundation
import SeededRandom
import TensorFile
import Tensors
import Testing
import ViT
import WeightSurgery

@testable import Swap

/// The AdamW state an adapter carries (Formats/adapter.md, "Optimizer state"): written bit for bit as the
/// optimiser held it, and continued by the next stage exactly as if the two stages had run in one
/// process with one AdamW (the paper's classification code).
@Suite struct OptimizerContinuationTests {
  let config = ViTConfig(imageSize: 4, patchSize: 2, channels: 1, dim: 8, depth: 2, heads: 2, mlpDim: 12, classes: 3)

  func withBase<T>(_ body: (BaseModel, String) throws -> T) throws -> T { try withBaseModel(config, body) }

  func images(_ labels: [Int], seed: UInt64) -> LabeledImages {
    var random = SeededGenerator(seed: seed)
    return LabeledImages(
      pixels: .floats((0..<(labels.count * 16)).map { _ in random.uniform(0, 1) }), labels: labels,
      channels: 1, height: 4, width: 4, mean: [0.5], std: [0.25])
  }

  func settings(_ kind: StageKind) -> StageSettings {
    var settings = StageSettings(kind: kind)
    settings.epochs = 2
    settings.batchSize = 4
    settings.weights = LossWeights(beta: 0.2, alpha: 0.005, bound: 105)
    return settings
  }

  /// Learns classes d and e on a fresh adapter (LoRA rank 4, head trained too when `trainHead`) for
  /// two epochs and writes the adapter with its optimizer state to `path`; returns the trainer.
  func learnStage(_ base: BaseModel, trainHead: Bool, writingTo path: String) throws -> StageTrainer {
    let adapted = try AdaptedModel(base: base, adapters: [])
    let network = adapted.prepareStage(
      classes: adapted.classes + ["d", "e"], rank: 4, alpha: 1, trainHead: trainHead, seed: 5)
    let trainer = StageTrainer(
      network: network, settings: settings(.learn), stageSet: images([3, 4, 3, 4, 4, 3], seed: 1),
      retainSet: images([0, 1, 2, 0, 1, 2, 0, 1], seed: 2), seed: 7)
    while !trainer.finished { trainer.runEpoch() }
    let contents = try adapted.adapterContents(
      rank: 4, alpha: 1, includeHead: true,
      optimizerState: trainer.state.optimizer.state.saved(parameters: network.trainable),
      training: [:], file: path)
    try TensorWriter.write(path: path, metadata: contents.metadata, tensors: contents.tensors)
    return trainer
  }

  static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

  @Test func theAdapterHoldsTheOptimizerStateBitForBit() throws {
    try withBase { base, directory in
      let path = directory + "/learned.safetensors"
      let trainer = try learnStage(base, trainHead: true, writingTo: path)
      let held = trainer.state.optimizer.state
      let adapter = try AdaptedModel.readAdapter(path)
      let saved = try #require(adapter.optimizerState)
      #expect(saved.step == held.step && held.step == 4)  // 2 epochs of 2 retain batches
      let trainable = trainer.network.trainable
      #expect(trainable.contains { $0.name == "head.weight" })
      #expect(Set(saved.moments.keys) == Set(trainable.map { AdapterNames.full($0.name) }))
      for (index, parameter) in trainable.enumerated() {
        let moments = try #require(saved.moments[AdapterNames.full(parameter.name)])
        #expect(moments.shape == parameter.value.shape)
        #expect(Self.bits(moments.first) == Self.bits(held.firstMoments[index]), "exp_avg of \(parameter.name)")
        #expect(Self.bits(moments.second) == Self.bits(held.secondMoments[index]), "exp_avg_sq of \(parameter.name)")
      }
      // The names other tools rely on, as plain F32 tensors, and the step in the metadata.
      let reader = try TensorReader(path: path)
      let name = "kswap_optimizer.exp_avg_sq.base_model.model.blocks.0.mlp.fc1.lora_A.weight"
      #expect(reader.info(name)?.dtype == .f32)
      #expect(reader.info("kswap_optimizer.exp_avg.base_model.model.head.weight")?.shape == [5, 8])
      #expect(reader.metadata["kswap.optimizer_step"] == "4")
      // Merging ignores the state: the adapter's LoRA and full tensors are all it merges.
      #expect(adapter.fullTensors.map(\.info.name).sorted() == ["head.bias", "head.weight"])
      #expect(adapter.modules.count == 4)
    }
  }

  @Test func aContinuedStageStartsWhereOneUnbrokenRunWouldBe() throws {
    try withBase { base, directory in
      let path = directory + "/learned.safetensors"
      let learned = try learnStage(base, trainHead: false, writingTo: path)
      let forgetSet = images([0, 0, 0, 0], seed: 3), retainSet = images([1, 2, 3, 4, 1, 2, 3, 4], seed: 4)
      func firstForgetStep(_ network: ViTNetwork, optimizer: AdamW?) -> ([[UInt32]], AdamW.State) {
        let trainer = StageTrainer(
          network: network, settings: settings(.forget), stageSet: forgetSet, retainSet: retainSet, seed: 9,
          optimizer: optimizer)
        _ = trainer.trainStep(stageIndices: [0, 1, 2, 3], retainIndices: [0, 1, 2, 5, 6, 7], rate: 1e-2)
        return (network.trainable.map { Self.bits($0.value.scalars) }, trainer.state.optimizer.state)
      }

      // From the file: a new model with the adapter, its optimizer continued.
      let adapted = try AdaptedModel(base: base, adapters: [try AdaptedModel.readAdapter(path)])
      let network = adapted.prepareStage(classes: adapted.classes, rank: 8, alpha: 1, trainHead: false, seed: 0)
      let continued = try #require(
        try adapted.continuedOptimizer(parameters: network.trainable, weightDecay: settings(.forget).weightDecay))
      #expect(continued.absent.isEmpty)
      let before = network.trainable.map { $0.value.scalars }
      let (fromFile, fromFileState) = firstForgetStep(network, optimizer: continued.optimizer)

      // A fresh optimizer from the same adapter takes another first step: the comparison can fail.
      let again = try AdaptedModel(base: base, adapters: [try AdaptedModel.readAdapter(path)])
      let (fresh, _) = firstForgetStep(
        again.prepareStage(classes: again.classes, rank: 8, alpha: 1, trainHead: false, seed: 0), optimizer: nil)
      #expect(fresh != fromFile)

      // In process: the learning stage's network and its AdamW, never stopped.
      #expect(learned.network.trainable.map { $0.value.scalars } == before)
      let (unbroken, unbrokenState) = firstForgetStep(
        learned.network as! ViTNetwork, optimizer: learned.state.optimizer)
      #expect(unbroken == fromFile)
      #expect(unbrokenState == fromFileState && fromFileState.step == 5)
    }
  }

  @Test func momentsOfAParameterTheStateLacksStartAtZero() throws {
    try withBase { base, directory in
      let path = directory + "/learned.safetensors"
      let learned = try learnStage(base, trainHead: false, writingTo: path)
      // The head trains now but did not in the stage that wrote the state; a head that has gained
      // rows keeps its saved moments for the old ones.
      let adapted = try AdaptedModel(base: base, adapters: [try AdaptedModel.readAdapter(path)])
      let network = adapted.prepareStage(classes: adapted.classes + ["f"], rank: 4, alpha: 1, trainHead: true, seed: 0)
      let continued = try #require(try adapted.continuedOptimizer(parameters: network.trainable, weightDecay: 0.05))
      #expect(continued.absent == ["base_model.model.head.weight", "base_model.model.head.bias"])
      let state = continued.optimizer.state
      #expect(state.step == learned.state.optimizer.state.step)
      let head = try #require(network.trainable.firstIndex { $0.name == "head.weight" })
      #expect(state.firstMoments[head].allSatisfy { $0 == 0 } && state.secondMoments[head].count == 6 * 8)

      let grown = SavedOptimizerState(
        step: 3,
        moments: [
          "base_model.model.head.weight": .init(
            shape: [5, 8], first: .init(repeating: 1, count: 40), second: .init(repeating: 2, count: 40))
        ])
      let (restored, absent) = try AdamW.State.restoring(grown, parameters: network.trainable, file: "x")
      #expect(!absent.contains("base_model.model.head.weight"))
      #expect(restored.firstMoments[head] == .init(repeating: 1, count: 40) + .init(repeating: 0, count: 8))
      let misshapen = SavedOptimizerState(
        step: 3,
        moments: [
          "base_model.model.head.weight": .init(
            shape: [6, 4], first: .init(repeating: 1, count: 24), second: .init(repeating: 2, count: 24))
        ])
      let error = #expect(throws: SwapError.self) {
        try AdamW.State.restoring(misshapen, parameters: network.trainable, file: "x")
      }
      #expect(error?.kind == .mismatch && error?.file == "x")
    }
  }

  @Test func optimizerTensorsAreReadOnlyWhole() throws {
    let info = { (name: String, shape: [Int]) in try TensorInfo(name: name, dtype: .f32, shape: shape) }
    let bytes = { (count: Int) in try FloatConversion.bytes(from: [Float](repeating: 0.5, count: count), dtype: .f32) }
    let first = (try info("kswap_optimizer.exp_avg.base_model.model.head.weight", [2, 3]), try bytes(6))
    let second = (try info("kswap_optimizer.exp_avg_sq.base_model.model.head.weight", [2, 3]), try bytes(6))
    let step = [SavedOptimizerState.stepKey: "7"]
    let state = try #require(try SavedOptimizerState(metadata: step, tensors: [first, second], file: "f"))
    #expect(state.step == 7 && state.moments["base_model.model.head.weight"]?.shape == [2, 3])
    // The step key left behind when kswap-pack --exclude 'kswap_optimizer.*' strips the tensors is no state.
    #expect(try SavedOptimizerState(metadata: step, tensors: [], file: "f") == nil)
    #expect(
      throws: SurgeryError(
        .invalidTensor, "f", tensor: first.0.name,
        "has no matching kswap_optimizer.exp_avg_sq.base_model.model.head.weight")
    ) { try SavedOptimizerState(metadata: step, tensors: [first], file: "f") }
    let noStep = #expect(throws: SurgeryError.self) {
      try SavedOptimizerState(metadata: [:], tensors: [first, second], file: "f")
    }
    #expect(noStep?.kind == .invalidTensor && noStep?.tensor == nil)
    let other = (try info("kswap_optimizer.exp_avg_sq.base_model.model.head.weight", [3, 2]), try bytes(6))
    let misshapen = #expect(throws: SurgeryError.self) {
      try SavedOptimizerState(metadata: step, tensors: [first, other], file: "f")
    }
    #expect(misshapen?.kind == .invalidTensor && misshapen?.tensor == other.0.name)
    #expect(
      AdapterNames.role(of: "kswap_optimizer.exp_avg.base_model.model.head.bias")
        == .optimizerMoment(.first, tensor: "base_model.model.head.bias"))
    #expect(
      AdapterNames.role(of: "kswap_optimizer.exp_avg_sq.x") == .optimizerMoment(.second, tensor: "x"))
    guard case .unsupported = AdapterNames.role(of: "kswap_optimizer.step") else {
      Issue.record("kswap_optimizer.step should not be a moment")
      return
    }
  }
}
