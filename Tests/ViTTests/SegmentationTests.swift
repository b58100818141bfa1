import Foundation
import SeededRandom
import Swap
import TensorFile
import Tensors
import Testing
import WeightSurgery

@testable import ViT

@Suite struct SegmentationTests {
  /// The linear decoder against PyTorch (Tests/Fixtures/vit-tiny-segmentation, made by
  /// Scripts/make-segmentation-fixture.py): 16x12 images, ignored pixels, an image with none counted.
  @Test func linearDecoderMatchesPyTorch() throws {
    let model = try Checkpoint.loadModel(try fixture("vit-tiny-segmentation/model.safetensors").reader)
    #expect(model.config.task == .segmentation && model.config.classes == 5)
    let (adapterFile, adapter) = try fixture("vit-tiny-segmentation/adapter.safetensors")
    let rank = Float(adapterFile.metadata["r"] ?? "") ?? 0, alpha = Float(adapterFile.metadata["lora_alpha"] ?? "") ?? 0
    try model.loadLoRA(adapter, scaling: alpha / rank)
    let (_, c) = try fixture("vit-tiny-segmentation/case.safetensors")
    let masks = c["masks"]!.scalars.map { UInt8($0) }

    model.setTrainable(.all)
    model.zeroGradients()
    let logits = model.forward(c["images"]!, training: true)
    #expect(logits.shape == [3, 5, 16, 12])
    var errors: [(String, Double)] = [
      ("pixel logits", GradientCheck.scaledError(logits, c["logits"]!)),
      ("patch logits", GradientCheck.scaledError(model.segmentation.patchLogits, c["patch_logits"]!)),
    ]
    let dLogits = Tensor(shape: logits.shape)
    let loss = pixelCrossEntropy(logits: logits, images: 0..<3, masks: masks, gradient: dLogits)
    errors.append(("loss", GradientCheck.scaledError(Tensor(shape: [1], values: [loss]), c["loss"]!)))
    errors.append(("grad pixel logits", GradientCheck.scaledError(dLogits, c["grad.logits"]!)))
    model.backward(dLogits)
    errors.append(
      ("grad patch logits", GradientCheck.scaledError(model.segmentation.patchGradient, c["grad.patch_logits"]!)))
    let parameterGradients = c.keys.filter { $0.hasPrefix("grad.") && !$0.hasSuffix("logits") }.sorted()
    #expect(parameterGradients.count == 16)
    for key in parameterGradients {
      let name = String(key.dropFirst("grad.".count)).replacingOccurrences(of: AdapterNames.prefix, with: "")
      guard let gradient = model.parameter(named: name)?.gradient else {
        Issue.record("the model has no gradient for \(name)")
        continue
      }
      errors.append(("grad " + name, GradientCheck.scaledError(gradient, c[key]!)))
    }
    let worst = errors.max { $0.1 < $1.1 }!
    print("vit-tiny-segmentation vs PyTorch: \(errors.count) tensors, largest relative error \(worst.1) (\(worst.0))")
    for (name, e) in errors where e >= 1e-4 { Issue.record("\(name): relative error \(e)") }
    #expect(argmaxPixels(logits) == c["predictions"]!.scalars.map { UInt8($0) })
  }

  /// Finite differences through the whole model: LoRA on the blocks and on the head, non-square
  /// images (a resized position grid), ignored pixels.
  @Test func wholeHeadPathMatchesFiniteDifferences() {
    let model = tinyModel(task: .segmentation)
    var rng = SeededGenerator(seed: 3)
    model.addLoRA(LoRAConfig(rank: 2, alpha: 4, targetModules: ["mlp.fc1", "mlp.fc2", "head"]), generator: &rng)
    randomBs(model, seed: 9)
    #expect(model.head?.lora != nil)
    let images = Tensor.uniform(shape: [2, 2, 8, 12], low: -1, high: 1, generator: &rng)
    let masks = (0..<(2 * 8 * 12)).map { i -> UInt8 in i % 5 == 2 ? 255 : UInt8(rng.next() % 3) }
    func loss() -> Double {
      Double(pixelCrossEntropy(logits: model.forward(images, training: true), images: 0..<2, masks: masks))
    }
    for set in [TrainableSet.all, .lora, .loraAnd(["head"])] {
      model.setTrainable(set)
      model.zeroGradients()
      let logits = model.forward(images, training: true)
      #expect(logits.shape == [2, 3, 8, 12])
      let dLogits = Tensor(shape: logits.shape)
      pixelCrossEntropy(logits: logits, images: 0..<2, masks: masks, gradient: dLogits)
      model.backward(dLogits)
      let parameters = model.trainableParameters
      var worst = ("", 0.0)
      for p in parameters {
        let e = GradientCheck.largestError(of: [p.value], analytic: [p.gradient!.copy()], epsilon: 1e-2, loss: loss)
        if e > worst.1 { worst = (p.name, e) }
      }
      print("segmentation, \(set): \(parameters.count) tensors, largest relative error \(worst.1) (\(worst.0))")
      #expect(worst.1 < 1e-2, "\(set): \(worst.0)")
    }
  }

  /// Each image's pixel logits depend on that image only, whatever the batch, in training and inference.
  @Test func pixelLogitsArePerImage() {
    let model = tinyModel(task: .segmentation)
    var rng = SeededGenerator(seed: 4)
    let images = Tensor.uniform(shape: [3, 2, 12, 8], low: -1, high: 1, generator: &rng)
    let batch = model.forward(images, training: true).scalars
    let perImage = 3 * 12 * 8
    for i in 0..<3 {
      let one = Tensor(shape: [1, 2, 12, 8])
      one.pointer.update(from: images.pointer + i * 2 * 12 * 8, count: 2 * 12 * 8)
      let alone = model.forward(one)
      #expect(alone.shape == [1, 3, 12, 8])
      let expected = Tensor(shape: [perImage], values: Array(batch[(i * perImage)..<((i + 1) * perImage)]))
      #expect(GradientCheck.scaledError(alone, expected) < 1e-6)
    }
  }

  @Test func argmaxTakesTheFirstLargestClass() {
    // Two images, 3 classes, 1x2 pixels; planes per image: class 0, 1, 2.
    let logits = Tensor(shape: [2, 3, 1, 2], values: [0, 5, 1, 5, 1, -1, 2, 0, 2, 0, -1, 3])
    #expect(argmaxPixels(logits) == [1, 0, 0, 2])
  }

  @Test func taskRoundTripsThroughTheModelFile() throws {
    let model = tinyModel(task: .segmentation)
    let metadata = Checkpoint.modelMetadata(model, extra: ["note": "kept"])
    #expect(metadata["task"] == "segmentation" && metadata["note"] == "kept")
    #expect(ViTConfig.fromJSON(metadata[ViTConfig.metadataKey] ?? "")?.task == .classification)  // not in the JSON
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kswap-seg-\(getpid()).safetensors").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Checkpoint.saveModel(model, to: path)
    let reader = try TensorReader(path: path)
    #expect(reader.metadata["task"] == "segmentation")
    let again = try Checkpoint.loadModel(reader)
    #expect(again.config == model.config && again.config.task == .segmentation)
    var rng = SeededGenerator(seed: 1)
    let images = Tensor.uniform(shape: [2, 2, 8, 8], low: -1, high: 1, generator: &rng)
    #expect(again.forward(images).scalars == model.forward(images).scalars)

    // A classifier's file has no `task`, even when the metadata it is saved with had one.
    let classifier = tinyModel()
    #expect(Checkpoint.modelMetadata(classifier, extra: ["task": "segmentation"])["task"] == nil)
    #expect(Array(classifier.config.metadata.keys) == [ViTConfig.metadataKey])
    #expect(classifier.forward(images).shape == [2, 3])
  }

  @Test func taskMetadataIsReadOrRefused() throws {
    let shapes = tinyModel().baseTensors().mapValues(\.shape)
    let config = tinyModel().config.jsonString()
    for (metadata, task) in [
      ([ViTConfig.metadataKey: config], DatasetLayout.Task.classification),
      ([ViTConfig.metadataKey: config, "task": "classification"], .classification),
      ([ViTConfig.metadataKey: config, "task": "segmentation"], .segmentation),
      (["num_heads": "2", "task": "segmentation"], .segmentation),  // inferred sizes, stated task
    ] {
      #expect(try Checkpoint.config(metadata: metadata, shapes: shapes).task == task)
    }
    #expect(
      throws: ViTError.invalidConfig("`__metadata__.task` is 'depth', expected 'classification' or 'segmentation' or 'detection'")
    ) {
      try Checkpoint.config(metadata: [ViTConfig.metadataKey: config, "task": "depth"], shapes: shapes)
    }
    var wide = tinyModel().config
    wide.classes = 256
    #expect(wide.validationProblem() == nil)
    wide.task = .segmentation
    #expect(wide.validationProblem() == "a segmentation head of 256 classes: masks name at most 255")
  }
}
