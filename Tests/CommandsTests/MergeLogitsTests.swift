// The merged model computes what base + adapter computes: logits of the engine's ViT running the
// adapter unmerged equal the logits of the ViT loaded from kswap-merge's output, to 1e-5 relative.

import Foundation
import SeededRandom
import TensorFile
import Tensors
import Testing
import ViT
import WeightSurgery

@testable import SurgeryCommands

@Suite struct MergeLogitsTests {
  @Test func mergedModelLogitsEqualBasePlusAdapterLogits() throws {
    let dir = ScratchDirectory()
    let config = ViTConfig(imageSize: 8, patchSize: 4, dim: 16, depth: 2, heads: 2, mlpDim: 32, classes: 5)
    var generator = SeededGenerator(seed: 42)
    let model = VisionTransformer(config: config, generator: &generator)
    // Bigger than timm's init so the adapter's effect on the logits is far above rounding.
    for (_, tensor) in model.baseTensors() {
      for i in 0..<tensor.count { tensor.pointer[i] += 0.2 * generator.normal() }
    }
    let baseTensors = model.baseTensors()
    try TensorWriter.write(
      path: dir.file("base.safetensors"), metadata: [ViTConfig.metadataKey: config.jsonString()],
      tensors: try baseTensors.map { name, tensor in
        (
          try TensorInfo(name: name, dtype: .f32, shape: tensor.shape),
          try FloatConversion.bytes(from: tensor.scalars, dtype: .f32)
        )
      })

    let lora = LoRAConfig(rank: 4, alpha: 8, targetModules: ["mlp.fc1", "mlp.fc2", "attn.qkv"], useRSLoRA: true)
    for adapter in model.addLoRA(lora, generator: &generator) {
      for i in 0..<adapter.b.value.count { adapter.b.value.pointer[i] = 0.3 * generator.normal() }
    }
    var settings = LoRASettings(rank: 4, alpha: 8, useRSLoRA: true)
    settings.targetModules = lora.targetModules
    try TensorWriter.write(
      path: dir.file("adapter.safetensors"), metadata: settings.metadata,
      tensors: try model.loraTensors().map { name, tensor in
        (
          try TensorInfo(name: name, dtype: .f32, shape: tensor.shape),
          try FloatConversion.bytes(from: tensor.scalars, dtype: .f32)
        )
      })

    let images = Tensor(shape: [3, 3, 8, 8])
    for i in 0..<images.count { images.pointer[i] = generator.normal() }
    let withAdapter = model.forward(images).scalars

    let result = capture {
      Merge.execute([
        dir.file("base.safetensors"), dir.file("adapter.safetensors"), "-o", dir.file("merged.safetensors"),
      ])
    }
    #expect(result.status == 0, "\(result.standardError)")
    let reader = try TensorReader(path: dir.file("merged.safetensors"))
    var merged: [String: Tensor] = [:]
    for info in reader.tensors {
      merged[info.name] = Tensor(shape: info.shape, values: try reader.floats(of: info.name))
    }
    let mergedLogits = try VisionTransformer(config: config, tensors: merged).forward(images).scalars

    let plain = try VisionTransformer(config: config, tensors: baseTensors.mapValues { $0.copy() }).forward(images)
      .scalars
    let scale = withAdapter.map(abs).max()!
    let adapterEffect = zip(withAdapter, plain).map { abs($0 - $1) }.max()!
    #expect(adapterEffect > 1e-2 * scale, "the adapter must change the logits for the test to mean anything")
    for (got, want) in zip(mergedLogits, withAdapter) {
      #expect(abs(got - want) <= 1e-5 * scale)
    }
  }
}
