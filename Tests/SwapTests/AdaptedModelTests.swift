import Foundation
import SeededRandom
import Testing
import ViT

@testable import Swap

/// Writes a random kswap base model of `config` with classes a, b, c, ... and passes it and its
/// directory to `body`; both are removed when `body` returns.
func withBaseModel<T>(_ config: ViTConfig, _ body: (BaseModel, String) throws -> T) throws -> T {
  let directory = NSTemporaryDirectory() + "kswap-swap-" + UUID().uuidString
  try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(atPath: directory) }
  var generator = SeededGenerator(seed: 21)
  let path = directory + "/base.safetensors"
  let classes = (0..<config.classes).map { String(UnicodeScalar(UInt8(97 + $0))) }
  try Checkpoint.saveModel(
    VisionTransformer(config: config, generator: &generator), to: path,
    metadata: [SwapMetadata.classes: SwapMetadata.array(classes)])
  return try body(try BaseModel(path: path), directory)
}

/// The head a stage trains against: compact (a row per new class) or the official layout's slots.
@Suite struct HeadLayoutTests {
  let config = ViTConfig(imageSize: 4, patchSize: 2, channels: 1, dim: 8, depth: 1, heads: 2, mlpDim: 12, classes: 3)

  @Test func slotsAreOneXavierBlockThatNewClassesFill() throws {
    try withBaseModel(config) { base, _ in
      let slotted = try AdaptedModel(base: base, adapters: [])
      slotted.reserveHeadSlots(4, seed: 2)
      #expect(slotted.classes == ["a", "b", "c", nil, nil, nil, nil])
      #expect(slotted.headDiffersFromBase)
      let head = try #require(slotted.model.head)
      let weights = head.weight.value.scalars, bias = try #require(head.bias).value.scalars
      #expect(weights.count == 7 * 8 && Array(weights[..<24]) == base.tensors["head.weight"]!.scalars)
      let bound = (6 / Float(4 + 8)).squareRoot()
      #expect(weights[24...].allSatisfy { abs($0) <= bound } && weights[24...].contains { abs($0) > 0.8 * bound })
      #expect(bias[3...].allSatisfy { $0 == 0 })

      // The learn set's classes take the first slots; no row is added and the head stays frozen.
      var map = ClassMap(names: slotted.classes)
      #expect(try map.appendNew(["x", "y"], file: "learn") == [3, 4])
      let network = slotted.prepareStage(classes: map.names, rank: 2, alpha: 1, trainHead: false, seed: 2)
      #expect(slotted.classes == ["a", "b", "c", "x", "y", nil, nil])
      #expect(slotted.model.head?.weight.value.scalars == weights)
      #expect(!network.trainable.contains { $0.name.hasPrefix("head") })

      // The compact head draws its rows the same way, over a block of as many rows as new classes.
      let compact = try AdaptedModel(base: base, adapters: [])
      _ = compact.prepareStage(
        classes: compact.classes + ["x", "y", "z", "w"], rank: 2, alpha: 1, trainHead: false, seed: 2)
      #expect(compact.model.head?.weight.value.scalars == weights)
      let two = try AdaptedModel(base: base, adapters: [])
      _ = two.prepareStage(classes: two.classes + ["x", "y"], rank: 2, alpha: 1, trainHead: false, seed: 2)
      #expect(two.model.head?.outFeatures == 5 && two.model.head?.weight.value.scalars[24] != weights[24])
    }
  }
}
