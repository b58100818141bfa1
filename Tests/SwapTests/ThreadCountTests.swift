import SeededRandom
import Swap
import Tensors
import Testing
import ViT

/// `--seed` promises the same bytes on any machine with the same kernels, so a training step must not
/// depend on how many threads compute it: the products are split by rows at fixed places and every
/// elementwise row is one thread's work. The model is big enough for every kind of split to happen.
@Suite(.serialized) struct ThreadCountTests {
  /// The loss terms, every LoRA gradient and the parameters after one AdamW step, at `threads`.
  func step(threads: Int) -> [[Float]] {
    let saved = BLASRuntime.threadCount
    BLASRuntime.setThreadCount(threads)
    defer { BLASRuntime.setThreadCount(saved) }
    var generator = SeededGenerator(seed: 11)
    let config = ViTConfig(
      imageSize: 28, patchSize: 4, channels: 1, dim: 64, depth: 2, heads: 4, mlpDim: 256, classes: 6)
    let network = loraNetwork(
      config, lora: LoRAConfig(rank: 8, alpha: 1, initialization: .paper), bScale: 0.1, generator: &generator)
    func set(_ count: Int) -> LabeledImages {
      LabeledImages(
        pixels: .bytes((0..<(count * 784)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }),
        labels: (0..<count).map { $0 % 6 }, channels: 1, height: 28, width: 28, mean: [0.5], std: [0.25])
    }
    var settings = StageSettings(kind: .learn)
    settings.dropout = 0.1  // the masks must not depend on the thread count either
    let trainer = StageTrainer(network: network, settings: settings, stageSet: set(8), retainSet: set(8), seed: 0)
    let terms = trainer.trainStep(stageIndices: Array(0..<8), retainIndices: Array(0..<8), rate: 1e-2)
    return [[terms.stageCE, terms.retainCE, terms.groupSparse, terms.total]]
      + network.trainable.flatMap { [$0.requiredGradientValues, $0.value.scalars] }
  }

  @Test func oneAndTwoThreadsGiveTheSameBits() {
    let one = step(threads: 1), two = step(threads: 2)
    #expect(one.count == two.count)
    for (index, (a, b)) in zip(one, two).enumerated() { #expect(a == b, "tensor \(index) differs") }
  }
}

extension Parameter {
  fileprivate var requiredGradientValues: [Float] { gradient?.scalars ?? [] }
}
