// The only file where the tensor-file format meets the model: reading weights and adapters into
// Tensors, the name mapping for foreign layouts, and writing tensors back.
import Foundation
import TensorFile
import Tensors

/// Loading and saving models and adapters through `TensorReader` / `TensorWriter`.
///
/// Three layouts load (`CheckpointLayout`): timm's `VisionTransformer` state dict as is, Hugging Face
/// `ViTModel` / `ViTForImageClassification` names and DINOv2 (`Dinov2Model`) names, mapped to timm's
/// by `ParameterNames`. The architecture comes from `__metadata__` (`vit_config` JSON, or the DINOv2
/// converter's `num_heads`/`layer_norm_eps` keys), else it is inferred from shapes: heads then default
/// to width / 64 (timm's ViT-Ti/S/B/L), and a width that is not a multiple of 64 needs them given.
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

  /// Builds the model a checkpoint describes (any `CheckpointLayout`; see the type's summary).
  public static func loadModel(_ reader: TensorReader) throws -> VisionTransformer {
    try loadModel(tensors: try readTensors(reader), metadata: reader.metadata)
  }

  /// Builds a model from tensors already in memory (any `CheckpointLayout`) and file metadata.
  public static func loadModel(tensors: [String: Tensor], metadata: [String: String]) throws -> VisionTransformer {
    let layout = ParameterNames.layout(of: tensors.keys)
    let timm = try ParameterNames.toTimm(tensors)
    let config = try self.config(metadata: metadata, shapes: timm.mapValues(\.shape), layout: layout)
    return try VisionTransformer(config: config, tensors: timm)
  }

  /// The architecture of timm-named `shapes`: `vit_config` from the metadata when present, else
  /// inferred, taking the heads and LayerNorm epsilon from the metadata's `num_heads` and
  /// `layer_norm_eps` (the DINOv2 converter's keys), else from `heads` and `layerNormEps` (a config
  /// file's, say), else the defaults (width / 64 heads, the layout's epsilon). The task is the
  /// metadata's `task` either way (absent: classification).
  public static func config(
    metadata: [String: String], shapes: [String: [Int]], layout: CheckpointLayout = .timm, heads: Int? = nil,
    layerNormEps: Float? = nil
  ) throws -> ViTConfig {
    let task = try ViTConfig.task(metadata: metadata)
    if let json = metadata[ViTConfig.metadataKey] {
      guard var config = ViTConfig.fromJSON(json) else {
        throw ViTError.invalidConfig("`__metadata__.\(ViTConfig.metadataKey)` is not a valid ViT config: \(json)")
      }
      config.task = task
      return config
    }
    var config = try infer(
      shapes: shapes, heads: metadata["num_heads"].flatMap(Int.init) ?? heads,
      layerNormEps: metadata["layer_norm_eps"].flatMap(Float.init) ?? layerNormEps ?? layout.defaultLayerNormEps)
    config.task = task
    if let problem = config.validationProblem() { throw ViTError.invalidConfig(problem) }
    return config
  }

  /// Works the architecture out from timm-named shapes. Without `heads`, a width that is a multiple
  /// of 64 has width / 64 heads (timm's ViT-Ti/S/B/L; ViT-H/14, 1280 wide, has 16); any other width
  /// throws `ViTError.unknownHeads`.
  public static func infer(shapes: [String: [Int]], heads: Int? = nil, layerNormEps: Float = 1e-6) throws -> ViTConfig {
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
    let dim = patch[0]
    var classes = 0
    if let head = shapes["head.weight"] {
      guard head.count == 2, head[1] == dim else {
        throw ViTError.cannotInferConfig(
          "the head `head.weight` has shape \(head); a linear head on the class token takes \(dim) features "
            + "(a head on the class and mean patch tokens, as Dinov2ForImageClassification's, is not supported)")
      }
      classes = head[0]
    }
    guard let heads = heads ?? (dim % 64 == 0 ? dim / 64 : nil) else { throw ViTError.unknownHeads(width: dim) }
    return ViTConfig(
      imageSize: grid * patch[2], patchSize: patch[2], channels: patch[1], dim: dim, depth: depth, heads: heads,
      mlpDim: fc1[0], classes: classes, layerNormEps: layerNormEps, layerScale: shapes["blocks.0.ls1.gamma"] != nil)
  }

  /// The model's metadata: `extra` with its config's entries (`ViTConfig.metadata`: `vit_config`, and
  /// `task` for a segmentation model; a `task` in `extra` is dropped, so a classifier's file has none).
  ///
  /// `num_classes` follows the current head (it may have been resized since loading).
  public static func modelMetadata(_ model: VisionTransformer, extra: [String: String] = [:]) -> [String: String] {
    var config = model.config
    config.classes = model.head?.outFeatures ?? 0
    var metadata = extra
    metadata[ViTConfig.taskMetadataKey] = nil
    return metadata.merging(config.metadata) { _, config in config }
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

/// The naming schemes of ViT checkpoints kswap reads; `ParameterNames` maps each to timm's.
public enum CheckpointLayout: String, Sendable {
  /// timm's `VisionTransformer` state dict (`blocks.N.attn.qkv`, `head`): kswap's own names.
  case timm
  /// Hugging Face `ViTModel` / `ViTForImageClassification` (`encoder.layer.N.attention.attention.query`,
  /// `layernorm_before`, `intermediate.dense`, `classifier`, ...).
  case huggingFaceViT = "Hugging Face ViT"
  /// Hugging Face `Dinov2Model` (`encoder.layer.N.norm1`, `mlp.fc1`, `layer_scale1.lambda1`, ...).
  case dinov2 = "DINOv2"

  /// The LayerNorm epsilon when nothing says: transformers' `ViTConfig` default (1e-12) for Hugging
  /// Face ViT names, 1e-6 (timm, DINOv2) otherwise.
  public var defaultLayerNormEps: Float { self == .huggingFaceViT ? 1e-12 : 1e-6 }
}

/// The name mapping from foreign layouts to timm's, in one place.
///
/// Hugging Face task models put the backbone under `vit.` or `dinov2.`; that prefix is dropped, then:
///
/// | Hugging Face (ViT and DINOv2) | timm |
/// |---|---|
/// | `embeddings.cls_token`, `embeddings.position_embeddings` | `cls_token`, `pos_embed` |
/// | `embeddings.patch_embeddings.projection` | `patch_embed.proj` |
/// | `encoder.layer.N.attention.attention.{query,key,value}` | rows 0..<D, D..<2D, 2D..<3D of `blocks.N.attn.qkv` |
/// | `encoder.layer.N.attention.output.dense` | `blocks.N.attn.proj` |
/// | `encoder.layer.N.layernorm_before`, `layernorm_after` (ViT); `norm1`, `norm2` (DINOv2) | `blocks.N.norm1`, `norm2` |
/// | `encoder.layer.N.intermediate.dense`, `output.dense` (ViT); `mlp.fc1`, `mlp.fc2` (DINOv2) | `blocks.N.mlp.fc1`, `fc2` |
/// | `encoder.layer.N.layer_scale1.lambda1`, `layer_scale2.lambda1` | `blocks.N.ls1.gamma`, `ls2.gamma` |
/// | `layernorm` | `norm` |
/// | `classifier` (ViTForImageClassification) | `head` |
///
/// transformers 5's module names (what `model.state_dict()` gives, e.g. in a `torch.save`d `.bin`)
/// map too: `layers.N.` for `encoder.layer.N.`, `attention.{q,k,v,o}_proj` for the attention.
/// `embeddings.mask_token` (masked pretraining) and `pooler.dense` (ViTModel's tanh pooler, which
/// no class-token head uses) are left out. Names of none of these forms (timm's) pass unchanged.
public enum ParameterNames {
  /// Where one stored tensor goes in timm's layout.
  public enum Target: Equatable, Sendable {
    /// The timm tensor of this name.
    case tensor(String)
    /// Rows part·D ..< (part + 1)·D of this fused qkv tensor (0 query, 1 key, 2 value).
    case qkvPart(String, part: Int)
    /// Not part of a classifier on the class token: left out.
    case unused
  }

  static let modelPrefixes = ["vit.", "dinov2."]
  static let blockPrefixes = ["encoder.layer.", "layers."]
  static let outside: [String: String] = [
    "embeddings.cls_token": "cls_token", "embeddings.position_embeddings": "pos_embed",
    "embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
    "embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
    "layernorm.weight": "norm.weight", "layernorm.bias": "norm.bias",
    "classifier.weight": "head.weight", "classifier.bias": "head.bias",
  ]
  static let unused: Set<String> = ["embeddings.mask_token", "pooler.dense.weight", "pooler.dense.bias"]
  /// Modules inside a block (their `.weight`/`.bias` follow), by their Hugging Face path.
  static let blockModules: [String: String] = [
    "attention.output.dense": "attn.proj", "attention.o_proj": "attn.proj",
    "layernorm_before": "norm1", "layernorm_after": "norm2", "norm1": "norm1", "norm2": "norm2",
    "intermediate.dense": "mlp.fc1", "output.dense": "mlp.fc2", "mlp.fc1": "mlp.fc1", "mlp.fc2": "mlp.fc2",
  ]
  /// The modules only Hugging Face ViT (not DINOv2) has.
  static let viTOnlyModules: Set<String> = [
    "layernorm_before", "layernorm_after", "intermediate.dense", "output.dense",
  ]
  static let qkvModules: [String: Int] = [
    "attention.attention.query": 0, "attention.attention.key": 1, "attention.attention.value": 2,
    "attention.q_proj": 0, "attention.k_proj": 1, "attention.v_proj": 2,
  ]
  static let layerScales = ["layer_scale1.lambda1": "ls1.gamma", "layer_scale2.lambda1": "ls2.gamma"]
  static let qkvPartNames = ["query", "key", "value"]

  /// The stored name without a task model's backbone prefix, and the block index and path inside
  /// the block for a Hugging Face block tensor.
  private static func parse(_ name: String) -> (bare: String, block: (index: Int, inner: String)?) {
    var bare = Substring(name)
    for prefix in modelPrefixes where bare.hasPrefix(prefix) { bare = bare.dropFirst(prefix.count) }
    for prefix in blockPrefixes where bare.hasPrefix(prefix) {
      let rest = bare.dropFirst(prefix.count)
      guard let dot = rest.firstIndex(of: "."), let index = Int(rest[..<dot]), index >= 0 else { continue }
      return (String(bare), (index, String(rest[rest.index(after: dot)...])))
    }
    return (String(bare), nil)
  }

  /// Where the stored tensor `name` goes; nil for a Hugging Face-style name that is no part of a ViT.
  public static func target(_ name: String) -> Target? {
    let (bare, block) = parse(name)
    if unused.contains(bare) { return .unused }
    if let mapped = outside[bare] { return .tensor(mapped) }
    guard let (index, inner) = block else { return bare == name ? .tensor(name) : nil }
    let timmBlock = "blocks.\(index)."
    if let mapped = layerScales[inner] { return .tensor(timmBlock + mapped) }
    guard let dot = inner.lastIndex(of: "."), ["weight", "bias"].contains(inner[inner.index(after: dot)...]) else {
      return nil
    }
    let module = String(inner[..<dot]), leaf = inner[dot...]  // ".weight"
    if let part = qkvModules[module] { return .qkvPart(timmBlock + "attn.qkv" + leaf, part: part) }
    if let mapped = blockModules[module] { return .tensor(timmBlock + mapped + leaf) }
    return nil
  }

  /// The layout stored names follow: Hugging Face ViT when a block has one of its module names,
  /// DINOv2 when other names take a Hugging Face form, timm otherwise.
  public static func layout(of names: some Sequence<String>) -> CheckpointLayout {
    var layout = CheckpointLayout.timm
    for name in names {
      let (bare, block) = parse(name)
      if let inner = block?.inner, let dot = inner.lastIndex(of: "."), viTOnlyModules.contains(String(inner[..<dot])) {
        return .huggingFaceViT
      }
      if block != nil || (outside[bare] != nil && !bare.hasPrefix("classifier.")) || unused.contains(bare) {
        layout = .dinov2
      }
    }
    return layout
  }

  /// Renames a checkpoint's tensors to timm's (the table in the type's summary; q, k and v joined
  /// into qkv); timm-named input passes through unchanged. Throws for a Hugging Face-style name
  /// that is no part of a ViT, for two tensors that are one timm parameter, and for a q, k or v
  /// without the other two.
  public static func toTimm(_ tensors: [String: Tensor]) throws -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    var origin: [String: String] = [:]  // timm name -> stored name
    var qkvParts: [String: [Int: Tensor]] = [:]  // "blocks.N.attn.qkv.weight" -> q/k/v by part
    func claim(_ timm: String, by name: String) throws {
      if let other = origin[timm] { throw ViTError.sameParameter(other, name, timmName: timm) }
      origin[timm] = name
    }
    for name in tensors.keys.sorted() {
      guard let target = target(name) else { throw ViTError.unexpectedTensor(name) }
      switch target {
      case .unused: continue
      case .tensor(let timm):
        try claim(timm, by: name)
        out[timm] = tensors[name]
      case .qkvPart(let fused, let part):
        try claim("\(fused) (\(qkvPartNames[part]) rows)", by: name)
        qkvParts[fused, default: [:]][part] = tensors[name]
      }
    }
    for (name, parts) in qkvParts.sorted(by: { $0.key < $1.key }) {
      if let other = origin[name], let part = qkvPartNames.lazy.compactMap({ origin["\(name) (\($0) rows)"] }).first {
        throw ViTError.sameParameter(other, part, timmName: name)
      }
      guard let q = parts[0], let k = parts[1], let v = parts[2] else {
        throw ViTError.missingTensor(name + " (query, key and value are all needed)")
      }
      guard q.shape == k.shape, q.shape == v.shape else {
        throw ViTError.shapeMismatch(name: name, expected: q.shape, actual: k.shape == q.shape ? v.shape : k.shape)
      }
      let joined = Tensor(shape: [3 * (q.shape.first ?? 0)] + q.shape.dropFirst())
      for (i, part) in [q, k, v].enumerated() {
        (joined.pointer + i * q.count).update(from: part.pointer, count: q.count)
      }
      out[name] = joined
    }
    return out
  }
}
