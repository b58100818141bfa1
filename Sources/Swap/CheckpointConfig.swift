// What the configuration files beside a checkpoint say: Hugging Face's and timm's config.json and
// Hugging Face's preprocessor_config.json. Read in one place; BaseModel decides what wins.

import Foundation
import TensorFile
import ViT

/// The architecture facts, input normalisation and class names of a checkpoint's `config.json`
/// (Hugging Face `ViTConfig`/`Dinov2Config` or timm's hub config) and `preprocessor_config.json`.
///
/// | what | Hugging Face `config.json` | timm `config.json` | `preprocessor_config.json` |
/// |---|---|---|---|
/// | heads | `num_attention_heads` | `model_args.num_heads` | |
/// | LayerNorm epsilon | `layer_norm_eps` | | |
/// | sizes, checked against the weights | `hidden_size`, `num_hidden_layers`, `intermediate_size`, `image_size`, `patch_size`, `num_channels` | `num_features`, `num_classes`, `model_args.{embed_dim, depth, img_size, patch_size, in_chans}` | |
/// | normalisation | | `pretrained_cfg.{mean, std}` (or top-level `mean`, `std`) | `image_mean`, `image_std` |
/// | class names | `id2label` (transformers' `LABEL_i` defaults mean none) | `label_names` | |
///
/// Settings kswap's ViT cannot follow are refused: an activation other than exact GELU
/// (`hidden_act`), pooling other than the class token (`global_pool`), a SwiGLU MLP.
struct CheckpointConfig {
  /// The config.json read, for messages; nil when there is none.
  var configPath: String?
  var heads: Int?
  var layerNormEps: Float?
  /// Sizes the files state, each with its key, checked against the weights by `check(_:)`.
  var stated: [(key: String, value: Int, actual: KeyPath<ViTConfig, Int>)] = []
  var mean: [Float]?
  var std: [Float]?
  /// The file `mean` and `std` come from.
  var normalisationSource: String?
  var classes: [String]?

  /// Reads `config.json` and `preprocessor_config.json` in `folder` where present (nil: neither).
  init(folder: String?) throws {
    guard let folder else { return }
    let configPath = folder + "/config.json", preprocessorPath = folder + "/preprocessor_config.json"
    if let json = try Self.read(configPath) {
      self.configPath = configPath
      try readConfig(json, file: configPath)
    }
    if mean == nil, std == nil, let json = try Self.read(preprocessorPath) {
      mean = try Self.floats(json["image_mean"], key: "image_mean", file: preprocessorPath)
      std = try Self.floats(json["image_std"], key: "image_std", file: preprocessorPath)
      if mean != nil || std != nil { normalisationSource = preprocessorPath }
    }
  }

  /// The file's JSON; nil when there is no such file.
  static func read(_ path: String) throws -> JSON? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    let json = try JSON(contentsOf: path)
    guard case .object = json else { throw SwapError(.invalidModel, file: path, "not a JSON object") }
    return json
  }

  private mutating func readConfig(_ json: JSON, file: String) throws {
    if let type = json["model_type"]?.stringValue, !["vit", "dinov2"].contains(type) {
      throw SwapError(.unsupported, file: file, "model_type '\(type)' is not a ViT ('vit' or 'dinov2')")
    }
    if let act = json["hidden_act"]?.stringValue, act != "gelu" {
      throw SwapError(.unsupported, file: file, "hidden_act '\(act)': kswap's ViT has the exact GELU ('gelu') only")
    }
    if json["use_swiglu_ffn"]?.boolValue == true {
      throw SwapError(.unsupported, file: file, "use_swiglu_ffn: kswap's ViT has a GELU MLP, not SwiGLU")
    }
    let modelArgs = json["model_args"]
    for pool in [json["global_pool"], modelArgs?["global_pool"]].compactMap({ $0?.stringValue }) where pool != "token" {
      throw SwapError(.unsupported, file: file, "global_pool '\(pool)': kswap's head reads the class token ('token')")
    }
    heads =
      try Self.int(json["num_attention_heads"], "num_attention_heads", file)
      ?? Self.int(modelArgs?["num_heads"], "model_args.num_heads", file)
    if let eps = json["layer_norm_eps"] {
      guard let value = eps.doubleValue, value > 0 else {
        throw SwapError(.invalidModel, file: file, "layer_norm_eps is not a positive number")
      }
      layerNormEps = Float(value)
    }
    let sizes: [(JSON?, String, KeyPath<ViTConfig, Int>)] = [
      (json["hidden_size"], "hidden_size", \.dim), (json["num_features"], "num_features", \.dim),
      (modelArgs?["embed_dim"], "model_args.embed_dim", \.dim),
      (json["num_hidden_layers"], "num_hidden_layers", \.depth), (modelArgs?["depth"], "model_args.depth", \.depth),
      (json["intermediate_size"], "intermediate_size", \.mlpDim),
      (json["image_size"], "image_size", \.imageSize), (modelArgs?["img_size"], "model_args.img_size", \.imageSize),
      (json["patch_size"], "patch_size", \.patchSize), (modelArgs?["patch_size"], "model_args.patch_size", \.patchSize),
      (json["num_channels"], "num_channels", \.channels), (modelArgs?["in_chans"], "model_args.in_chans", \.channels),
      (json["num_classes"], "num_classes", \.classes),
    ]
    for (value, key, actual) in sizes {
      if let size = try Self.int(value, key, file) { stated.append((key, size, actual)) }
    }
    let cfg = json["pretrained_cfg"]
    if let mean = cfg?["mean"] ?? json["mean"] { self.mean = try Self.floats(mean, key: "mean", file: file) }
    if let std = cfg?["std"] ?? json["std"] { self.std = try Self.floats(std, key: "std", file: file) }
    if mean != nil || std != nil { normalisationSource = file }
    if let labels = json["id2label"] {
      classes = try Self.labels(labels, file: file)
    } else if let names = json["label_names"] {
      guard let items = names.arrayValue, case let strings = items.compactMap(\.stringValue),
        strings.count == items.count
      else { throw SwapError(.invalidModel, file: file, "label_names is not a list of names") }
      classes = strings
    }
  }

  /// Checks the stated sizes against the architecture the weights have.
  func check(_ config: ViTConfig) throws {
    for (key, value, actual) in stated where config[keyPath: actual] != value {
      throw SwapError(
        .mismatch, file: configPath ?? "config.json", "\(key) is \(value), the weights say \(config[keyPath: actual])")
    }
  }

  /// A size: an integer, or a list of equal integers (`[224, 224]`); nil when absent or null.
  static func int(_ value: JSON?, _ key: String, _ file: String) throws -> Int? {
    guard let value, value != .null else { return nil }
    if let int = value.intValue { return int }
    if let items = value.arrayValue, let first = items.first?.intValue, items.allSatisfy({ $0.intValue == first }) {
      return first
    }
    throw SwapError(.invalidModel, file: file, "\(key) is not an integer or a square size")
  }

  static func floats(_ value: JSON?, key: String, file: String) throws -> [Float]? {
    guard let value, value != .null else { return nil }
    guard let items = value.arrayValue, case let numbers = items.compactMap(\.doubleValue), numbers.count == items.count
    else { throw SwapError(.invalidModel, file: file, "\(key) is not a list of numbers") }
    return numbers.map(Float.init)
  }

  /// `id2label`'s names in label order; nil for transformers' defaults (`LABEL_0`, `LABEL_1`, ...).
  static func labels(_ value: JSON, file: String) throws -> [String]? {
    guard case let .object(members) = value else {
      throw SwapError(.invalidModel, file: file, "id2label is not an object")
    }
    var names = [String?](repeating: nil, count: members.count)
    for (key, name) in members {
      guard let label = Int(key), names.indices.contains(label), names[label] == nil, let text = name.stringValue else {
        throw SwapError(.invalidModel, file: file, "id2label must map each label 0..<\(members.count) once to a name")
      }
      names[label] = text
    }
    let list = names.compactMap { $0 }  // every label 0..<count is named once: none is nil
    return list.enumerated().allSatisfy({ $0.element == "LABEL_\($0.offset)" }) ? nil : list
  }
}
