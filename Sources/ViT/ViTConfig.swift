import Foundation
import TensorFile

/// The architecture hyper-parameters of a vision transformer, in timm's vocabulary, and its task.
///
/// Stored in a checkpoint's `__metadata__` under `vit_config` as JSON with snake_case keys
/// (`image_size`, `patch_size`, `in_chans`, `embed_dim`, `depth`, `num_heads`, `mlp_dim`,
/// `num_classes`, `layer_norm_eps`, `layer_scale`). When the key is absent the loader infers the
/// config from tensor shapes (`ViTConfig.infer`). The task is not part of that JSON: it has its own
/// key, `task` (`taskMetadataKey`), as a dataset's does.
public struct ViTConfig: Codable, Sendable, Equatable {
  /// The side of the square input the position grid was trained for (pixels).
  public var imageSize: Int
  /// The side of a square patch (pixels).
  public var patchSize: Int
  /// Input channels (3 for RGB, 1 for grey).
  public var channels: Int
  /// The token width D.
  public var dim: Int
  /// The number of blocks.
  public var depth: Int
  /// The number of attention heads (D must be a multiple).
  public var heads: Int
  /// The hidden width of each block's MLP.
  public var mlpDim: Int
  /// The number of classes of the linear head; 0 for a backbone without a head.
  public var classes: Int
  /// LayerNorm epsilon (timm and DINOv2: 1e-6).
  public var layerNormEps: Float
  /// Whether blocks have LayerScale (DINOv2 style).
  public var layerScale: Bool
  /// What the head predicts: one class per image from the class token (classification), one per pixel
  /// from every patch token (segmentation), or classes and boxes from every patch token with the box
  /// branch `box_head` (detection); `VisionTransformer.forward` says how.
  public var task: DatasetLayout.Task = .classification

  /// A configuration; heads default to dim / 64, the MLP to 4 · dim.
  public init(
    imageSize: Int, patchSize: Int, channels: Int = 3, dim: Int, depth: Int, heads: Int? = nil,
    mlpDim: Int? = nil, classes: Int, layerNormEps: Float = 1e-6, layerScale: Bool = false,
    task: DatasetLayout.Task = .classification
  ) {
    self.imageSize = imageSize
    self.patchSize = patchSize
    self.channels = channels
    self.dim = dim
    self.depth = depth
    self.heads = heads ?? max(1, dim / 64)
    self.mlpDim = mlpDim ?? 4 * dim
    self.classes = classes
    self.layerNormEps = layerNormEps
    self.layerScale = layerScale
    self.task = task
  }

  // `task` is left out: it has its own metadata key.
  enum CodingKeys: String, CodingKey {
    case imageSize = "image_size"
    case patchSize = "patch_size"
    case channels = "in_chans"
    case dim = "embed_dim"
    case depth
    case heads = "num_heads"
    case mlpDim = "mlp_dim"
    case classes = "num_classes"
    case layerNormEps = "layer_norm_eps"
    case layerScale = "layer_scale"
  }

  /// The side of the stored position grid (image size / patch size).
  public var gridSize: Int { imageSize / patchSize }

  /// Tokens per image at the native size: the class token plus the patches.
  public var tokens: Int { 1 + gridSize * gridSize }

  /// The metadata key the config is stored under.
  public static let metadataKey = "vit_config"

  /// The metadata key the task is stored under: `"segmentation"`, `"detection"`, or `"classification"`
  /// (the meaning of a model without the key). The key and its values are a dataset's (`DatasetLayout.Key.task`).
  public static let taskMetadataKey = DatasetLayout.Key.task

  /// The `__metadata__` entries that state this config: `vit_config`, and `task` for a segmentation or
  /// detection model (a classifier's file has no `task`).
  public var metadata: [String: String] {
    var entries = [Self.metadataKey: jsonString()]
    if task != .classification { entries[Self.taskMetadataKey] = task.rawValue }
    return entries
  }

  /// The task a file's metadata states (absent: classification); throws for an unknown value.
  public static func task(metadata: [String: String]) throws -> DatasetLayout.Task {
    guard let value = metadata[taskMetadataKey] else { return .classification }
    guard let task = DatasetLayout.Task(rawValue: value) else {
      let known = DatasetLayout.Task.allCases.map { "'\($0.rawValue)'" }.joined(separator: " or ")
      throw ViTError.invalidConfig("`__metadata__.\(taskMetadataKey)` is '\(value)', expected \(known)")
    }
    return task
  }

  /// The config as compact JSON with sorted keys (deterministic bytes).
  public func jsonString() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    // Encoding a struct of ints, floats and bools cannot fail.
    let data = (try? encoder.encode(self)) ?? Data()
    return String(decoding: data, as: UTF8.self)
  }

  /// Decodes the JSON written by `jsonString()`; nil on malformed text.
  public static func fromJSON(_ text: String) -> ViTConfig? {
    try? JSONDecoder().decode(ViTConfig.self, from: Data(text.utf8))
  }

  /// Detection models load (the head, its loss and decoding are built); the tools that would train or
  /// evaluate one refuse it with this until they are wired (issue 10).
  public static let detectionNotBuilt =
    "training and evaluating detection models is not supported by this build of kswap"

  /// Checks the numbers fit together; the message names the first inconsistency.
  public func validationProblem() -> String? {
    if patchSize <= 0 || imageSize <= 0 || imageSize % patchSize != 0 {
      return "image_size \(imageSize) is not a positive multiple of patch_size \(patchSize)"
    }
    if dim <= 0 || heads <= 0 || dim % heads != 0 { return "embed_dim \(dim) is not a multiple of num_heads \(heads)" }
    if depth < 0 || mlpDim <= 0 || channels <= 0 || classes < 0 { return "negative or zero size in \(jsonString())" }
    if task == .segmentation && classes > Int(DatasetLayout.ignoreLabel) {
      // Masks are bytes and 255 means "ignore": a segmentation head has at most 255 classes.
      return "a segmentation head of \(classes) classes: masks name at most \(DatasetLayout.ignoreLabel)"
    }
    return nil
  }
}
