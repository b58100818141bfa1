import SeededRandom
import Swap
import TensorFile
import Tensors
import Testing

@testable import ViT

/// A tiny model for gradient checks: B=2, 8×8 images with 2 channels, patch 4 (N = 5), D = 8,
/// 2 heads, depth 2, MLP 16, 3 classes.
func tinyModel(
  layerScale: Bool = true, seed: UInt64 = 11, task: DatasetLayout.Task = .classification
) -> VisionTransformer {
  var rng = SeededGenerator(seed: seed)
  let config = ViTConfig(
    imageSize: 8, patchSize: 4, channels: 2, dim: 8, depth: 2, heads: 2, mlpDim: 16, classes: 3, layerScale: layerScale,
    task: task)
  let model = VisionTransformer(config: config, generator: &rng)
  // Bigger-than-init values so every path carries signal (timm's 0.02 init makes most terms tiny).
  for p in model.parameters where !p.name.hasSuffix("norm1.weight") && !p.name.hasSuffix("norm2.weight") {
    for i in 0..<p.value.count { p.value.pointer[i] = rng.uniform(-0.5, 0.5) }
  }
  return model
}

func randomBs(_ model: VisionTransformer, seed: UInt64) {
  var rng = SeededGenerator(seed: seed)
  for l in model.linears {
    if let b = l.lora?.b.value { for i in 0..<b.count { b.pointer[i] = rng.uniform(-0.5, 0.5) } }
  }
}

@Suite struct ModelGradientTests {
  let labels = [2, 0]

  func lossAndGradients(_ model: VisionTransformer, _ images: Tensor, dropout: Dropout? = nil) -> Double {
    model.zeroGradients()
    let logits = model.forward(images, training: true, dropout: dropout)
    let d = Tensor(shape: logits.shape)
    let loss = crossEntropy(logits: logits, rows: 0..<labels.count, labels: labels, gradient: d)
    model.backward(d)
    return Double(loss)
  }

  /// With `dropout`, the loss is the training forward's with those masks (fixed by the key, so the
  /// function differentiated is deterministic).
  func check(_ model: VisionTransformer, imageSize: Int, dropout: Dropout? = nil, label: String) -> Double {
    var rng = SeededGenerator(seed: 5)
    let images = Tensor.uniform(shape: [2, 2, imageSize, imageSize], low: -1, high: 1, generator: &rng)
    _ = lossAndGradients(model, images, dropout: dropout)
    let params = model.trainableParameters
    let analytic = params.map { $0.gradient!.copy() }
    func loss() -> Double {
      let logits = model.forward(images, training: dropout != nil, dropout: dropout)
      return Double(crossEntropy(logits: logits, rows: 0..<labels.count, labels: labels))
    }
    let err = GradientCheck.largestError(of: params.map(\.value), analytic: analytic, epsilon: 1e-2, loss: loss)
    // Per-tensor report so a failure names the culprit.
    var worst = ("", 0.0)
    for (p, g) in zip(params, analytic) {
      let e = GradientCheck.largestError(of: [p.value], analytic: [g], epsilon: 1e-2, loss: loss)
      if e > worst.1 { worst = (p.name, e) }
    }
    print("\(label): \(params.count) tensors, largest relative error \(err) (\(worst.0))")
    return err
  }

  @Test func allParametersWithLayerScaleAndLoRA() {
    let model = tinyModel()
    var rng = SeededGenerator(seed: 3)
    model.addLoRA(LoRAConfig(rank: 2, alpha: 4, targetModules: ["mlp.fc1", "mlp.fc2", "attn.qkv"]), generator: &rng)
    randomBs(model, seed: 9)
    model.setTrainable(.all)
    #expect(check(model, imageSize: 8, label: "whole model, all parameters") < 1e-2)
  }

  /// Every site's backward (the embedding's too: everything trains) applies its forward's mask.
  @Test func allParametersWithDropout() {
    let model = tinyModel()
    var rng = SeededGenerator(seed: 3)
    model.addLoRA(LoRAConfig(rank: 2, alpha: 4), generator: &rng)
    randomBs(model, seed: 9)
    model.setTrainable(.all)
    let dropout = Dropout(probability: 0.3, key: 17)
    #expect(check(model, imageSize: 8, dropout: dropout, label: "whole model, all parameters, dropout 0.3") < 1e-2)
  }

  @Test func loraOnlyGradientsMatchFullModeAndFrozenStayEmpty() {
    let model = tinyModel(layerScale: false)
    var rng = SeededGenerator(seed: 3)
    model.addLoRA(LoRAConfig(rank: 2, alpha: 2), generator: &rng)
    randomBs(model, seed: 9)
    model.setTrainable(.lora)
    #expect(model.trainableParameters.count == 8)
    #expect(model.trainableParameters.allSatisfy { $0.name.contains(".lora_") })
    #expect(check(model, imageSize: 8, label: "whole model, LoRA only") < 1e-2)
    var r2 = SeededGenerator(seed: 5)
    let images = Tensor.uniform(shape: [2, 2, 8, 8], low: -1, high: 1, generator: &r2)
    _ = lossAndGradients(model, images)
    let loraOnly = model.trainableParameters.map { $0.gradient!.scalars }
    model.setTrainable(.all)
    _ = lossAndGradients(model, images)
    let full = model.parameters.filter { $0.name.contains(".lora_") }.map { $0.gradient!.scalars }
    #expect(loraOnly == full)
  }

  @Test func headAndResizedPositionGrid() {
    let model = tinyModel()
    model.setTrainable(.loraAnd(["head", "pos_embed", "blocks.1"]))
    #expect(model.trainableParameters.contains { $0.name == "head.weight" })
    #expect(!model.trainableParameters.contains { $0.name.hasPrefix("blocks.0") })
    // 12×12 images: a 3×3 grid from the stored 2×2, through the bicubic resize.
    #expect(check(model, imageSize: 12, label: "head, pos_embed, block 1 at a resized grid") < 1e-2)
  }
}

@Suite struct LoRATests {
  @Test func zeroBLeavesOutputUnchangedAndMergeMatches() {
    let model = tinyModel()
    var rng = SeededGenerator(seed: 1)
    let images = Tensor.uniform(shape: [2, 2, 8, 8], low: -1, high: 1, generator: &rng)
    let base = model.forward(images).scalars
    let adapters = model.addLoRA(LoRAConfig(rank: 4), generator: &rng)
    #expect(adapters.count == 4)
    #expect(adapters[0].a.name == "blocks.0.mlp.fc1.lora_A.weight")
    #expect(model.forward(images).scalars == base)
    randomBs(model, seed: 2)
    let adapted = model.forward(images).scalars
    #expect(adapted != base)
    model.mergeLoRA()
    let merged = model.forward(images).scalars
    #expect(zip(adapted, merged).allSatisfy { abs($0 - $1) < 1e-5 })
  }

  @Test func initBoundsAndScaling() {
    #expect(LoRAConfig(rank: 8).scaling == 0.125)
    #expect(LoRAConfig(rank: 16, alpha: 4, useRSLoRA: true).scaling == 1)
    #expect(abs(LoRAConfig().initBound(inFeatures: 100) - 0.1) < 1e-7)
    let paper = LoRAConfig(initialization: .paper).initBound(inFeatures: 768)
    #expect(abs(paper - (6.0 / (51.0 * 768.0)).squareRoot()) < 1e-7)
    #expect(LoRAConfig().targets("blocks.3.mlp.fc1") && !LoRAConfig().targets("blocks.3.attn.qkv"))
  }

  @Test func peftNamesRoundTrip() throws {
    let model = tinyModel()
    var rng = SeededGenerator(seed: 1)
    model.addLoRA(LoRAConfig(rank: 2), generator: &rng)
    randomBs(model, seed: 4)
    let saved = model.loraTensors()
    #expect(saved.keys.sorted().first == "base_model.model.blocks.0.mlp.fc1.lora_A.weight")
    #expect(saved["base_model.model.blocks.1.mlp.fc2.lora_B.weight"]?.shape == [8, 2])
    let other = tinyModel()
    try other.loadLoRA(saved, scaling: 0.5)
    #expect(other.loraTensors().mapValues(\.scalars) == saved.mapValues(\.scalars))
    #expect(throws: ViTError.missingTensor("blocks.0.mlp.fc1.lora_B.weight")) {
      try other.loadLoRA(["blocks.0.mlp.fc1.lora_A.weight": Tensor(shape: [2, 8])], scaling: 1)
    }
  }
}

@Suite struct HeadTests {
  @Test func appendHeadRowsKeepsOldRowsAndDrawsNewOnes() throws {
    let model = tinyModel()
    let old = model.head!.weight.value.scalars
    var rng = SeededGenerator(seed: 8)
    model.appendHeadRows(2, generator: &rng)
    let w = model.head!.weight.value
    #expect(w.shape == [5, 8] && Array(w.scalars[0..<24]) == old)
    let bound = (6.0 / Float(8 + 2)).squareRoot()
    #expect(w.scalars[24...].allSatisfy { abs($0) <= bound } && w.scalars[24...].contains { $0 != 0 })
    #expect(model.head!.bias!.value.scalars[3...].allSatisfy { $0 == 0 })
    var images = SeededGenerator(seed: 2)
    #expect(model.forward(Tensor.uniform(shape: [2, 2, 8, 8], low: -1, high: 1, generator: &images)).shape == [2, 5])
    let json = Checkpoint.modelMetadata(model)[ViTConfig.metadataKey] ?? ""
    #expect(ViTConfig.fromJSON(json)?.classes == 5)
  }
}
