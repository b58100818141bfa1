// A base model file as the swap tools read it: a kswap ViT with its classes, input normalisation and
// fingerprint (Formats/adapter.md), and the datasets checked against it.

import Foundation
import TensorFile
import Tensors
import ViT
import WeightSurgery

/// `__metadata__` keys kswap reads from models and writes into adapters, besides PEFT's.
public enum SwapMetadata {
  /// JSON array of class names in head-row order; `null` for an unused row (`kswap-learn --head-slots`).
  public static let classes = "classes"
  /// JSON arrays: per-channel input normalisation on the [0, 1] pixel scale.
  public static let mean = "mean"
  public static let std = "std"
  /// JSON object of settings of the training run that wrote an adapter.
  public static let training = "kswap.training"

  /// JSON text of a list of strings, in order.
  public static func array(_ items: [String]) -> String { JSON.array(items.map(JSON.string)).text() }

  /// JSON text of an object of string values with sorted keys.
  public static func object(_ members: [String: String]) -> String { JSON.sortedStrings(members).text() }

  /// JSON text of a class list, `null` for an unused row.
  public static func classList(_ names: [String?]) -> String {
    JSON.array(names.map { $0.map(JSON.string) ?? .null }).text()
  }

  /// A JSON array of names and nulls (unused rows), or nil when `text` is not one.
  static func names(_ text: String) -> [String?]? {
    try? JSONDecoder().decode([String?].self, from: Data(text.utf8))
  }
}

/// What the model tools' flags say about a model, winning over the file, its metadata and its
/// configuration files (`--heads`, `--mean`, `--std`, `--class-names`).
public struct ModelOverrides: Sendable, Equatable {
  public var heads: Int?
  public var mean: [Float]?
  public var std: [Float]?
  public var classes: [String]?

  public init(heads: Int? = nil, mean: [Float]? = nil, std: [Float]? = nil, classes: [String]? = nil) {
    self.heads = heads
    self.mean = mean
    self.std = std
    self.classes = classes
  }
}

/// A base model: its weights in timm's names, architecture, classes, input normalisation and fingerprint.
///
/// The file is any ViT checkpoint `StoredCheckpoint` reads (safetensors, sharded, `.kst`, PyTorch
/// `.bin`/`.pth`, a Hugging Face model folder) in any `CheckpointLayout`. Each fact comes from the
/// first source that has it:
///
/// | fact | flag | `__metadata__` | `config.json` etc. (`CheckpointConfig`) | otherwise |
/// |---|---|---|---|---|
/// | sizes | | `vit_config` | checked against the weights | the weights' shapes |
/// | heads | `--heads` | `vit_config`, `num_heads` | `num_attention_heads`, `model_args.num_heads` | width / 64 when a multiple of 64, else refused |
/// | LayerNorm epsilon | | `vit_config`, `layer_norm_eps` | `layer_norm_eps` | 1e-12 for Hugging Face ViT names, else 1e-6 |
/// | mean, std | `--mean`, `--std` | `mean`, `std` | `pretrained_cfg`, `preprocessor_config.json` | 0.5 for a kswap model (`vit_config`), else refused |
/// | class names | `--class-names` | `classes` | `id2label`, `label_names` | the row numbers |
///
/// The configuration files are not read beside a kswap model (one with `vit_config`): it says
/// everything itself.
/// The fingerprint is taken over the tensors under their stored names (what `kswap-merge` streams),
/// so a file keeps its fingerprint, and a kswap model's is what it always was.
public struct BaseModel {
  public let path: String
  /// The naming scheme of the stored tensors.
  public let layout: CheckpointLayout
  public let config: ViTConfig
  /// The weights in timm's names.
  public let tensors: [String: Tensor]
  public let metadata: [String: String]
  /// Head-row order; nil for an unused row.
  public let classes: [String?]
  public let mean: [Float]
  public let std: [Float]
  public let fingerprint: String

  /// Reads the model at `path`. With `requireHead` (the swap tools) a backbone without a
  /// classification head is refused with the command that fits one.
  public init(path: String, overrides: ModelOverrides = ModelOverrides(), requireHead: Bool = true) throws {
    self.path = path
    let stored = try StoredCheckpoint(path: path)
    if AdapterNames.isAdapter(stored.tensors.keys) {
      throw SwapError(
        .wrongFile, file: path, "is an adapter, not a model; pass the base model first and this with --adapter")
    }
    // kswap's own models say everything in their metadata: a config.json beside one is someone else's.
    let isKswapModel = stored.metadata[ViTConfig.metadataKey] != nil
    let files = try CheckpointConfig(folder: isKswapModel ? nil : stored.folder)
    let layout = ParameterNames.layout(of: stored.tensors.keys)
    // ViT errors name timm's tensors: say so when the file's names differ.
    func problem(_ error: Error) -> SwapError {
      SwapError(
        .invalidModel, file: path,
        "\(error)" + (layout == .timm ? "" : " (its \(layout.rawValue) names read as timm's)"))
    }
    var config: ViTConfig
    do {
      tensors = try ParameterNames.toTimm(stored.tensors)
      config = try Checkpoint.config(
        metadata: stored.metadata, shapes: tensors.mapValues(\.shape), layout: layout,
        heads: overrides.heads ?? files.heads, layerNormEps: files.layerNormEps)
    } catch ViTError.unknownHeads(let width) {
      throw SwapError(
        .missingSetting, file: path,
        "the number of attention heads is unknown (the width \(width) is not a multiple of 64, "
          + "and neither its metadata nor a config.json beside it says); give --heads N")
    } catch {
      throw problem(error)
    }
    try files.check(config)
    if let heads = overrides.heads { config.heads = heads }
    // The head tensor, not the config, counts the classes: a merge with an adapter that added classes
    // has more rows than the config says, and a kswap model whose head was stripped (kswap-pack
    // --exclude 'head.*') is a backbone whose config still counts the old ones.
    if let head = tensors["head.weight"] {
      if head.rank == 2 { config.classes = head.shape[0] }
    } else {
      config.classes = 0
    }
    if let problem = config.validationProblem() { throw SwapError(.invalidModel, file: path, problem) }
    if requireHead && config.classes == 0 {
      throw SwapError(
        .wrongFile, file: path,
        "a backbone without a classification head; fit one first: "
          + "kswap-pretrain --backbone \(path) --train DATA -o MODEL")
    }
    self.layout = layout
    self.config = config
    metadata = stored.metadata
    fingerprint = stored.fingerprint

    classes = try Self.classNames(
      overrides.classes, metadata: stored.metadata, files: files, rows: config.classes, path: path)
    let silent = isKswapModel ? Array(repeating: Float(0.5), count: config.channels) : nil
    mean = try Self.normalisation(
      "--mean", overrides.mean, key: SwapMetadata.mean, metadata: stored.metadata, files: files, \.mean,
      silent: silent, channels: config.channels, path: path)
    std = try Self.normalisation(
      "--std", overrides.std, key: SwapMetadata.std, metadata: stored.metadata, files: files, \.std,
      silent: silent, channels: config.channels, path: path)
    if let bad = std.first(where: { $0 <= 0 }) {
      throw SwapError(.invalidModel, file: path, "std \(bad) is not positive")
    }
    // Building once here reports a missing or misshapen tensor before any dataset is read.
    do { _ = try VisionTransformer(config: config, tensors: tensors) } catch { throw problem(error) }
  }

  /// A fresh model on these weights (the tensors are copied, so each model can train on its own).
  public func makeModel() throws -> VisionTransformer {
    do {
      return try VisionTransformer(config: config, tensors: tensors.mapValues { $0.copy() })
    } catch {
      throw SwapError(.invalidModel, file: path, "\(error)")
    }
  }

  /// A dataset normalised for this model, refused unless its images fit it.
  public func loadDataset(_ path: String) throws -> DatasetFile {
    let file = try DatasetFile(path: path, mean: mean, std: std)
    try checkFits(path, channels: file.images.channels, height: file.images.height, width: file.images.width)
    return file
  }

  /// A segmentation dataset normalised for this model, refused unless its images fit it.
  public func loadSegmentationDataset(_ path: String) throws -> SegmentationFile {
    let file = try SegmentationFile(path: path, mean: mean, std: std)
    try checkFits(path, channels: file.images.channels, height: file.images.height, width: file.images.width)
    return file
  }

  /// A detection dataset normalised for this model, refused unless its images fit it.
  public func loadDetectionDataset(_ path: String) throws -> DetectionFile {
    let file = try DetectionFile(path: path, mean: mean, std: std)
    try checkFits(path, channels: file.images.channels, height: file.images.height, width: file.images.width)
    return file
  }

  private func checkFits(_ path: String, channels: Int, height: Int, width: Int) throws {
    guard channels == config.channels, height == config.imageSize, width == config.imageSize else {
      throw SwapError(
        .mismatch, file: path,
        "images are \(channels)x\(height)x\(width); "
          + "\(self.path) takes \(config.channels)x\(config.imageSize)x\(config.imageSize)")
    }
  }

  /// The class names in head-row order (nil for an unused row): the flag's, the metadata's, the config
  /// file's, else the row numbers.
  static func classNames(
    _ override: [String]?, metadata: [String: String], files: CheckpointConfig, rows: Int, path: String
  ) throws -> [String?] {
    // A backbone has no classes; names in its metadata belonged to a head since removed.
    guard rows > 0 else { return [] }
    let list: [String?], source: String
    if let override {
      (list, source) = (override, "--class-names")
    } else if let text = metadata[SwapMetadata.classes] {
      guard let names = SwapMetadata.names(text) else {
        throw SwapError(.invalidModel, file: path, "metadata 'classes' is not a JSON array of names")
      }
      (list, source) = (names, "\(path): metadata 'classes'")
    } else if let names = files.classes {
      (list, source) = (names, files.configPath ?? "config.json")
    } else {
      return (0..<rows).map(String.init)
    }
    guard list.count == rows else {
      throw SwapError(.mismatch, "\(source) names \(list.count) classes; the head of \(path) has \(rows) rows")
    }
    return list
  }

  /// Per-channel mean or std: the flag's, the metadata's (`key`), the configuration files', else
  /// `silent` (kswap's own models: 0.5), else refused with the flags to give.
  static func normalisation(
    _ flag: String, _ override: [Float]?, key: String, metadata: [String: String], files: CheckpointConfig,
    _ filesValue: KeyPath<CheckpointConfig, [Float]?>, silent: [Float]?, channels: Int, path: String
  ) throws -> [Float] {
    let values: [Float], source: String
    if let override {
      (values, source) = (override, flag)
    } else if let text = metadata[key] {
      guard let parsed = try? JSONDecoder().decode([Float].self, from: Data(text.utf8)) else {
        throw SwapError(.invalidModel, file: path, "metadata '\(key)' is not a JSON array of numbers")
      }
      (values, source) = (parsed, "\(path): metadata '\(key)'")
    } else if let fromFiles = files[keyPath: filesValue] {
      (values, source) = (fromFiles, "\(files.normalisationSource ?? path): \(key)")
    } else if let silent {
      return silent
    } else {
      throw SwapError(
        .missingSetting, file: path,
        "the input normalisation is unknown (no '\(key)' in its metadata, config.json or "
          + "preprocessor_config.json); give --mean and --std, e.g. --mean 0.485,0.456,0.406 "
          + "--std 0.229,0.224,0.225 for ImageNet's")
    }
    guard values.count == channels else {
      throw SwapError(.mismatch, "\(source): \(values.count) value(s); \(path) takes \(channels) channel(s)")
    }
    guard values.allSatisfy({ $0.isFinite }) else { throw SwapError(.invalidModel, "\(source): not finite") }
    return values
  }
}
