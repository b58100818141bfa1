import Foundation
import Swap
import TensorFile
import Tensors
import Testing
import WeightSurgery

@testable import ViT

/// Tests/Fixtures, found from this file's path (fixtures are committed, made by Scripts/make-vit-fixtures.py).
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("Fixtures")

func fixture(_ path: String) throws -> (reader: TensorReader, tensors: [String: Tensor]) {
  let reader = try TensorReader(path: fixtures.appendingPathComponent(path).path)
  return (reader, try Checkpoint.readTensors(reader))
}

@Suite struct GoldenFixtureTests {
  /// The PyTorch copy of timm's ViT with LoRA on fc1/fc2 (Tests/Fixtures/vit-tiny).
  @Test func timmViTWithLoRAMatchesPyTorch() throws {
    let (modelFile, _) = try fixture("vit-tiny/model.safetensors")
    let model = try Checkpoint.loadModel(modelFile)
    #expect(
      model.config
        == ViTConfig(imageSize: 16, patchSize: 4, channels: 3, dim: 32, depth: 2, heads: 2, mlpDim: 64, classes: 5))
    let (adapterFile, adapter) = try fixture("vit-tiny/adapter.safetensors")
    let rank = Float(adapterFile.metadata["r"] ?? "") ?? 0, alpha = Float(adapterFile.metadata["lora_alpha"] ?? "") ?? 0
    try model.loadLoRA(adapter, scaling: alpha / rank)
    let (_, c) = try fixture("vit-tiny/case.safetensors")
    let labels = c["labels"]!.scalars.map { Int($0) }

    model.setTrainable(.all)
    model.zeroGradients()
    let logits = model.forward(c["images"]!, training: true)
    var errors: [(String, Double)] = [("logits", GradientCheck.scaledError(logits, c["logits"]!))]
    let dLogits = Tensor(shape: logits.shape)
    let loss = crossEntropy(logits: logits, rows: 0..<labels.count, labels: labels, gradient: dLogits)
    errors.append(("loss", GradientCheck.scaledError(Tensor(shape: [1], values: [loss]), c["loss"]!)))
    model.backward(dLogits)
    for p in model.parameters {
      let name = p.name.contains(".lora_") ? AdapterNames.prefix + p.name : p.name
      guard let expected = c["grad." + p.name] ?? c["grad." + name] else {
        Issue.record("fixture has no gradient for \(p.name)")
        continue
      }
      errors.append(("grad " + p.name, GradientCheck.scaledError(p.gradient!, expected)))
    }
    errors.append(("tokens", GradientCheck.scaledError(model.forwardTokens(c["images"]!), c["tokens"]!)))
    errors.append(
      ("logits at 20x20 (resized grid)", GradientCheck.scaledError(model.forward(c["images20"]!), c["logits20"]!)))
    let worst = errors.max { $0.1 < $1.1 }!
    print("vit-tiny vs PyTorch: \(errors.count) tensors, largest relative error \(worst.1) (\(worst.0))")
    for (name, e) in errors where e >= 1e-4 { Issue.record("\(name): relative error \(e)") }
  }

  @Test func loraOnlyGradientsMatchPyTorch() throws {
    let model = try Checkpoint.loadModel(try fixture("vit-tiny/model.safetensors").reader)
    try model.loadLoRA(try fixture("vit-tiny/adapter.safetensors").tensors, scaling: 2)
    let (_, c) = try fixture("vit-tiny/case.safetensors")
    model.setTrainable(.lora)
    let logits = model.forward(c["images"]!, training: true)
    let dLogits = Tensor(shape: logits.shape)
    let labels = c["labels"]!.scalars.map { Int($0) }
    crossEntropy(logits: logits, rows: 0..<labels.count, labels: labels, gradient: dLogits)
    model.backward(dLogits)
    var worst = 0.0
    for p in model.trainableParameters {
      worst = max(worst, GradientCheck.scaledError(p.gradient!, c["grad." + p.name]!))
    }
    print("vit-tiny LoRA-only gradients vs PyTorch: largest relative error \(worst)")
    #expect(model.trainableParameters.count == 8)
    #expect(worst < 1e-4)
  }

  /// DINOv2 names, LayerScale, and a 4x4 position grid resized to 5x5 (Tests/Fixtures/vit-tiny-dinov2).
  @Test func dinov2LayoutMatchesPyTorch() throws {
    let model = try Checkpoint.loadModel(try fixture("vit-tiny-dinov2/model.safetensors").reader)
    #expect(model.config.layerScale && model.config.heads == 2 && model.head == nil)
    let (_, c) = try fixture("vit-tiny-dinov2/case.safetensors")
    let err = GradientCheck.scaledError(model.forwardTokens(c["images"]!), c["tokens"]!)
    print("vit-tiny-dinov2 tokens vs PyTorch: largest relative error \(err)")
    #expect(err < 1e-4)
  }

  @Test func saveAndReloadKeepsTheModel() throws {
    let model = try Checkpoint.loadModel(try fixture("vit-tiny/model.safetensors").reader)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kswap-vit-\(getpid()).safetensors").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Checkpoint.saveModel(model, to: path)
    let again = try Checkpoint.loadModel(try TensorReader(path: path))
    #expect(again.config == model.config)
    let (_, c) = try fixture("vit-tiny/case.safetensors")
    #expect(again.forward(c["images"]!).scalars == model.forward(c["images"]!).scalars)
  }

  @Test func badCheckpointsGiveNamedErrors() throws {
    var tensors = try fixture("vit-tiny/model.safetensors").tensors
    #expect(throws: ViTError.unknownHeads(width: 32)) {
      try Checkpoint.config(metadata: [:], shapes: tensors.mapValues(\.shape))
    }
    let config = try Checkpoint.config(metadata: [:], shapes: tensors.mapValues(\.shape), heads: 2)
    #expect(config.dim == 32 && config.depth == 2 && config.classes == 5 && config.heads == 2)
    tensors["blocks.1.mlp.fc2.bias"] = Tensor(shape: [31])
    #expect(throws: ViTError.shapeMismatch(name: "blocks.1.mlp.fc2.bias", expected: [32], actual: [31])) {
      try Checkpoint.loadModel(tensors: tensors, metadata: ["num_heads": "2"])
    }
    tensors["blocks.1.mlp.fc2.bias"] = nil
    #expect(throws: ViTError.missingTensor("blocks.1.mlp.fc2.bias")) {
      try Checkpoint.loadModel(tensors: tensors, metadata: ["num_heads": "2"])
    }
    #expect(throws: ViTError.self) {
      try Checkpoint.loadModel(tensors: tensors, metadata: ["vit_config": "{not json"])
    }
  }
}
