import SeededRandom
import Tensors
import Testing

@testable import ViT

/// A random timm-named model's tensors written out in a foreign layout by hand (the inverse of
/// `ParameterNames`, spelled independently here), then mapped back.
@Suite struct ParameterNamesTests {
  static let config = ViTConfig(
    imageSize: 8, patchSize: 4, channels: 3, dim: 12, depth: 2, heads: 3, mlpDim: 20, classes: 4)

  static func timmTensors(layerScale: Bool = false) -> [String: Tensor] {
    var config = Self.config
    config.layerScale = layerScale
    var generator = SeededGenerator(seed: 7)
    return VisionTransformer(config: config, generator: &generator).baseTensors()
  }

  /// Rows `part` of three of a fused qkv tensor.
  static func third(_ t: Tensor, _ part: Int) -> Tensor {
    let rows = t.shape[0] / 3, size = t.count / 3
    return Tensor(shape: [rows] + t.shape.dropFirst(), values: Array(t.scalars[(part * size)..<((part + 1) * size)]))
  }

  enum Spelling { case vitSaved, vitModules, dinov2Saved }

  /// `timm` in Hugging Face names: as save_pretrained writes them (`encoder.layer.N`, q/k/v as
  /// `attention.attention.query`), or transformers 5's module names (`layers.N`, `q_proj`).
  static func huggingFace(_ timm: [String: Tensor], _ spelling: Spelling, prefix: String) -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (name, t) in timm {
      let parts = name.split(separator: ".").map(String.init)
      let leaf = parts.last!
      switch parts[0] {
      case "cls_token": out[prefix + "embeddings.cls_token"] = t
      case "pos_embed": out[prefix + "embeddings.position_embeddings"] = t
      case "patch_embed": out[prefix + "embeddings.patch_embeddings.projection.\(leaf)"] = t
      case "norm": out[prefix + "layernorm.\(leaf)"] = t
      case "head": out["classifier.\(leaf)"] = t
      default:
        let block = (spelling == .vitModules ? "layers." : "encoder.layer.") + parts[1] + "."
        let module = parts[2..<(parts.count - 1)].joined(separator: ".")
        let vit = spelling != .dinov2Saved
        switch module {
        case "attn.qkv":
          let names =
            spelling == .vitModules
            ? ["attention.q_proj", "attention.k_proj", "attention.v_proj"]
            : ["attention.attention.query", "attention.attention.key", "attention.attention.value"]
          for (i, qkv) in names.enumerated() { out[prefix + block + qkv + "." + leaf] = third(t, i) }
        case "attn.proj":
          out[prefix + block + (spelling == .vitModules ? "attention.o_proj." : "attention.output.dense.") + leaf] = t
        case "norm1": out[prefix + block + (vit ? "layernorm_before." : "norm1.") + leaf] = t
        case "norm2": out[prefix + block + (vit ? "layernorm_after." : "norm2.") + leaf] = t
        case "mlp.fc1":
          out[prefix + block + (spelling == .vitSaved ? "intermediate.dense." : "mlp.fc1.") + leaf] = t
        case "mlp.fc2": out[prefix + block + (spelling == .vitSaved ? "output.dense." : "mlp.fc2.") + leaf] = t
        case "ls1": out[prefix + block + "layer_scale1.lambda1"] = t
        case "ls2": out[prefix + block + "layer_scale2.lambda1"] = t
        default: Issue.record("no Hugging Face name for \(name)")
        }
      }
    }
    return out
  }

  static func expectSame(_ a: [String: Tensor], _ b: [String: Tensor]) {
    #expect(a.keys.sorted() == b.keys.sorted())
    for (name, t) in a {
      #expect(b[name]?.shape == t.shape && b[name]?.scalars == t.scalars, "\(name)")
    }
  }

  @Test func huggingFaceViTNamesMapToTimm() throws {
    let timm = Self.timmTensors()
    for (spelling, prefix) in [(Spelling.vitSaved, "vit."), (.vitSaved, ""), (.vitModules, "vit.")] {
      let foreign = Self.huggingFace(timm, spelling, prefix: prefix)
      #expect(ParameterNames.layout(of: foreign.keys) == .huggingFaceViT)
      Self.expectSame(try ParameterNames.toTimm(foreign), timm)
    }
  }

  @Test func dinov2NamesMapToTimm() throws {
    var timm = Self.timmTensors(layerScale: true)
    var foreign = Self.huggingFace(timm, .dinov2Saved, prefix: "")
    foreign["embeddings.mask_token"] = Tensor(shape: [1, 12])  // masked pretraining only: left out
    // A head fitted by kswap keeps timm's name beside the DINOv2 backbone.
    foreign["head.weight"] = foreign.removeValue(forKey: "classifier.weight")
    foreign["head.bias"] = foreign.removeValue(forKey: "classifier.bias")
    #expect(ParameterNames.layout(of: foreign.keys) == .dinov2)
    Self.expectSame(try ParameterNames.toTimm(foreign), timm)
    timm["head.weight"] = nil
    timm["head.bias"] = nil
    Self.expectSame(try ParameterNames.toTimm(Self.huggingFace(timm, .dinov2Saved, prefix: "dinov2.")), timm)
  }

  @Test func viTModelPoolerIsLeftOut() throws {
    var timm = Self.timmTensors()
    timm["head.weight"] = nil
    timm["head.bias"] = nil
    var foreign = Self.huggingFace(timm, .vitSaved, prefix: "")
    foreign["pooler.dense.weight"] = Tensor(shape: [12, 12])
    foreign["pooler.dense.bias"] = Tensor(shape: [12])
    Self.expectSame(try ParameterNames.toTimm(foreign), timm)
  }

  @Test func timmNamesPassUnchanged() throws {
    let timm = Self.timmTensors()
    #expect(ParameterNames.layout(of: timm.keys) == .timm)
    Self.expectSame(try ParameterNames.toTimm(timm), timm)
    #expect(ParameterNames.target("blocks.0.attn.qkv.weight") == .tensor("blocks.0.attn.qkv.weight"))
    #expect(
      ParameterNames.target("vit.encoder.layer.3.attention.attention.key.bias")
        == .qkvPart("blocks.3.attn.qkv.bias", part: 1))
  }

  @Test func foreignNamesThatAreNoViTAreRefused() throws {
    let foreign = Self.huggingFace(Self.timmTensors(), .vitSaved, prefix: "vit.")
    var extra = foreign
    extra["vit.encoder.layer.0.attention.attention.query.lora_A.weight"] = Tensor(shape: [2, 12])
    #expect(throws: ViTError.unexpectedTensor("vit.encoder.layer.0.attention.attention.query.lora_A.weight")) {
      try ParameterNames.toTimm(extra)
    }
    var missing = foreign
    missing["vit.encoder.layer.1.attention.attention.value.weight"] = nil
    #expect(throws: ViTError.missingTensor("blocks.1.attn.qkv.weight (query, key and value are all needed)")) {
      try ParameterNames.toTimm(missing)
    }
    var mixed = foreign
    mixed["norm.weight"] = Tensor(shape: [12])
    #expect(throws: ViTError.sameParameter("norm.weight", "vit.layernorm.weight", timmName: "norm.weight")) {
      try ParameterNames.toTimm(mixed)
    }
    var fusedToo = foreign
    fusedToo["blocks.0.attn.qkv.weight"] = Tensor(shape: [36, 12])
    #expect(throws: ViTError.self) { try ParameterNames.toTimm(fusedToo) }
  }

  @Test func inferenceNeedsHeadsOffTheMultiplesOf64() throws {
    var shapes = Self.timmTensors().mapValues(\.shape)
    #expect(throws: ViTError.unknownHeads(width: 12)) { try Checkpoint.infer(shapes: shapes) }
    #expect(try Checkpoint.infer(shapes: shapes, heads: 3) == Self.config)
    // The DINOv2 converter's metadata key comes before a config file's value.
    let config = try Checkpoint.config(
      metadata: ["num_heads": "4"], shapes: shapes, layout: .huggingFaceViT, heads: 3)
    #expect(config.heads == 4 && config.layerNormEps == 1e-12)
    #expect(try Checkpoint.config(metadata: [:], shapes: shapes, heads: 2, layerNormEps: 1e-5).layerNormEps == 1e-5)
    let wide = [
      "patch_embed.proj.weight": [192, 3, 16, 16], "pos_embed": [1, 197, 192], "blocks.0.norm1.weight": [192],
      "blocks.0.mlp.fc1.weight": [768, 192],
    ]
    #expect(try Checkpoint.infer(shapes: wide).heads == 3)
    shapes["head.weight"] = [4, 24]  // Dinov2ForImageClassification: class token and mean patch token
    #expect(throws: ViTError.self) { try Checkpoint.infer(shapes: shapes, heads: 3) }
  }
}
