import SeededRandom
import Tensors
import Testing
import ViT

@testable import Swap

/// Fitting a head on a frozen backbone: the cached-feature path (class-token features once, then the head)
/// against the plain path (the whole ViT forwarded every step with only its head trainable).
@Suite struct HeadFitTests {
  /// A DINOv2-style backbone (LayerScale, no head) with a 4x4 position grid, and a fresh 3-class head.
  func backboneWithHead(seed: UInt64) -> VisionTransformer {
    var generator = SeededGenerator(seed: seed)
    let config = ViTConfig(
      imageSize: 16, patchSize: 4, channels: 3, dim: 16, depth: 2, heads: 2, mlpDim: 24, classes: 0,
      layerScale: true)
    let model = VisionTransformer(config: config, generator: &generator)
    HeadFit.attachFreshHead(to: model, classes: 3, generator: &generator)
    return model
  }

  /// A copy with the same weights, head included.
  func copy(_ model: VisionTransformer) throws -> VisionTransformer {
    var config = model.config
    config.classes = model.head?.outFeatures ?? 0
    return try VisionTransformer(config: config, tensors: model.baseTensors().mapValues { $0.copy() })
  }

  /// 8x8 grey images repeated to RGB (the model runs at a 2x2 grid, its 4x4 position grid resized).
  func images(count: Int, seed: UInt64) -> LabeledImages {
    var random = SeededGenerator(seed: seed)
    let grey = LabeledImages(
      pixels: .bytes((0..<(count * 64)).map { _ in UInt8(random.next() % 256) }),
      labels: (0..<count).map { $0 % 3 }, channels: 1, height: 8, width: 8, mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225])
    return grey.repeatingGrey(toChannels: 3)!
  }

  func settings(epochs: Int, batchSize: Int) -> SupervisedSettings {
    var s = SupervisedSettings()
    s.epochs = epochs
    s.batchSize = batchSize
    s.peakRate = 1e-2
    s.warmupSteps = 2
    return s
  }

  /// The two paths run `epochs` epochs from the same head; returns (plain, cached) head weight and bias.
  func fitBothWays(count: Int, epochs: Int, batchSize: Int) throws -> (plain: Tensor, cached: Tensor) {
    let set = images(count: count, seed: 3)
    let plainModel = backboneWithHead(seed: 1)
    let cachedModel = try copy(plainModel)
    let plain = ViTNetwork(model: plainModel)
    plain.setTrainable(.loraAnd(["head"]))
    #expect(plain.trainable.map(\.name) == ["head.weight", "head.bias"])
    let plainTrainer = SupervisedTrainer(
      network: plain, settings: settings(epochs: epochs, batchSize: batchSize), set: .labeled(set), seed: 5)
    while !plainTrainer.finished { plainTrainer.runEpoch() }

    // Features in batches of 7, not the training batch: a row's features must not depend on its batch.
    let features = HeadFit.classTokenFeatures(of: set, model: cachedModel, batchSize: 7)
    #expect(features.count == count && features.channels == 16 && features.labels == set.labels)
    let head = try #require(cachedModel.head)
    let cachedTrainer = SupervisedTrainer(
      network: LinearHeadNetwork(head: head), settings: settings(epochs: epochs, batchSize: batchSize),
      set: .labeled(features), seed: 5)
    while !cachedTrainer.finished { cachedTrainer.runEpoch() }
    let plainHead = try #require(plainModel.head)
    let both = [plainHead, head].map { $0.weight.value.scalars + $0.bias!.value.scalars }
    return (Tensor(shape: [both[0].count], values: both[0]), Tensor(shape: [both[1].count], values: both[1]))
  }

  // Equal bit for bit on the development machine; the bound allows another BLAS to split a product by
  // rows differently in the two paths.
  @Test func oneStepOnCachedFeaturesGivesTheSameHeadAsThePlainPath() throws {
    let before = backboneWithHead(seed: 1).head!.weight.value.scalars
    let (plain, cached) = try fitBothWays(count: 12, epochs: 1, batchSize: 16)  // one batch: one step
    #expect(Array(plain.scalars.prefix(before.count)) != before, "the step moved the head")
    #expect(GradientCheck.scaledError(cached, plain) < 1e-6, "cached vs plain head")
  }

  @Test func severalEpochsOnCachedFeaturesStayWithThePlainPath() throws {
    let (plain, cached) = try fitBothWays(count: 20, epochs: 3, batchSize: 6)  // 4 steps an epoch, one short
    #expect(GradientCheck.scaledError(cached, plain) < 1e-5, "cached vs plain head")
  }

  @Test func thePlainPathLeavesTheBackboneAlone() throws {
    let model = backboneWithHead(seed: 1)
    let before = model.baseTensors().filter { !$0.key.hasPrefix("head.") }.mapValues(\.scalars)
    let network = ViTNetwork(model: model)
    network.setTrainable(.loraAnd(["head"]))
    let trainer = SupervisedTrainer(
      network: network, settings: settings(epochs: 1, batchSize: 4), set: .labeled(images(count: 8, seed: 3)), seed: 5)
    trainer.runEpoch()
    #expect(model.baseTensors().filter { !$0.key.hasPrefix("head.") }.mapValues(\.scalars) == before)
  }

  @Test func aFreshHeadIsXavierUniformWithZeroBias() throws {
    let model = backboneWithHead(seed: 2)
    let head = try #require(model.head)
    #expect(head.weight.value.shape == [3, 16] && head.bias?.value.shape == [3])
    let bound = (6 / Float(16 + 3)).squareRoot()
    #expect(head.weight.value.scalars.allSatisfy { abs($0) <= bound })
    #expect(head.weight.value.scalars.contains { abs($0) > bound / 2 })
    #expect(head.bias!.value.scalars.allSatisfy { $0 == 0 })
    var generator = SeededGenerator(seed: 9)
    HeadFit.attachFreshHead(to: model, classes: 5, generator: &generator)  // replaces, not appends
    #expect(model.head?.weight.value.shape == [5, 16])
  }

  @Test func aModelWrittenAtTheNewSizeGivesTheSameLogits() throws {
    // What kswap-pretrain --backbone writes: the position grid stored resized to the images' 2x2 grid.
    let model = backboneWithHead(seed: 4)
    let batch = images(count: 5, seed: 6).batch(Array(0..<5))
    let expected = model.forward(batch).scalars
    var tensors = model.baseTensors()
    tensors["pos_embed"] = model.embedding.positionTable(grid: 2)
    #expect(tensors["pos_embed"]!.shape == [1, 5, 16])
    var config = model.config
    config.imageSize = 8
    config.classes = 3
    let written = try VisionTransformer(config: config, tensors: tensors)
    #expect(written.forward(batch).scalars == expected)
  }

  @Test func greyIsRepeatedAndColourIsNeverMadeGrey() throws {
    let grey = LabeledImages(
      pixels: .bytes([1, 2, 3, 4, 5, 6, 7, 8]), labels: [0, 1], channels: 1, height: 2, width: 2, mean: [0, 0, 0],
      std: [1, 1, 1])
    let rgb = try #require(grey.repeatingGrey(toChannels: 3))
    guard case .bytes(let bytes) = rgb.pixels else {
      Issue.record("bytes stay bytes")
      return
    }
    #expect(rgb.channels == 3 && bytes == [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8, 5, 6, 7, 8])
    #expect(rgb.repeatingGrey(toChannels: 3)?.channels == 3)
    #expect(rgb.repeatingGrey(toChannels: 1) == nil)
  }
}
