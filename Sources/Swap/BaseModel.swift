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

/// A base model file: its weights, architecture, classes, input normalisation and fingerprint.
public struct BaseModel {
  public let path: String
  public let config: ViTConfig
  public let tensors: [String: Tensor]
  public let metadata: [String: String]
  /// Head-row order; nil for an unused row.
  public let classes: [String?]
  public let mean: [Float]
  public let std: [Float]
  public let fingerprint: String

  public init(path: String) throws {
    self.path = path
    let reader = try TensorReader(path: path)
    var fingerprint = BaseFingerprint()
    var tensors: [String: Tensor] = [:]
    try reader.forEachTensor { info, bytes in
      guard info.dtype.isConvertibleFloat else {
        fingerprint.add(name: info.name, shape: info.shape, sample: nil)
        return
      }
      let values = try FloatConversion.floats(from: bytes, dtype: info.dtype, file: path, tensor: info.name)
      fingerprint.add(name: info.name, shape: info.shape, sample: Array(values.prefix(BaseFingerprint.sampleCount)))
      tensors[info.name] = Tensor(shape: info.shape, values: values)
    }
    if AdapterNames.isAdapter(tensors.keys) {
      throw SwapInputError("\(path): is an adapter, not a model; pass the base model first and this with --adapter")
    }
    guard let text = reader.metadata[ViTConfig.metadataKey], var config = ViTConfig.fromJSON(text) else {
      throw SwapInputError("\(path): no '\(ViTConfig.metadataKey)' in the metadata: not a kswap ViT model")
    }
    // A model merged with an adapter that added classes has more head rows than its config says.
    if let head = tensors["head.weight"], head.rank == 2 { config.classes = head.shape[0] }
    if let problem = config.validationProblem() { throw SwapInputError("\(path): \(problem)") }
    guard config.classes > 0 else { throw SwapInputError("\(path): the model has no classification head") }
    self.config = config
    self.tensors = tensors
    metadata = reader.metadata
    self.fingerprint = fingerprint.value
    classes = try Self.names(reader.metadata[SwapMetadata.classes], count: config.classes, file: path)
    mean = try Self.floats(reader.metadata[SwapMetadata.mean], count: config.channels, default: 0.5, file: path)
    std = try Self.floats(reader.metadata[SwapMetadata.std], count: config.channels, default: 0.5, file: path)
    // Building once here reports a missing or misshapen tensor before any dataset is read.
    _ = try makeModel()
  }

  /// A fresh model on these weights (the tensors are copied, so each model can train on its own).
  public func makeModel() throws -> VisionTransformer {
    do {
      return try VisionTransformer(config: config, tensors: tensors.mapValues { $0.copy() })
    } catch {
      throw SwapInputError("\(path): \(error)")
    }
  }

  /// A dataset normalised for this model, refused unless its images fit it.
  public func loadDataset(_ path: String) throws -> DatasetFile {
    let file = try DatasetFile(path: path, mean: mean, std: std)
    guard file.images.channels == config.channels, file.images.height == config.imageSize,
      file.images.width == config.imageSize
    else {
      throw SwapInputError(
        "\(path): images are \(file.images.channels)x\(file.images.height)x\(file.images.width); "
          + "\(self.path) takes \(config.channels)x\(config.imageSize)x\(config.imageSize)")
    }
    return file
  }

  static func names(_ text: String?, count: Int, file: String) throws -> [String?] {
    guard let text else { return (0..<count).map(String.init) }
    guard let names = SwapMetadata.names(text) else {
      throw SwapInputError("\(file): metadata 'classes' is not a JSON array of names")
    }
    guard names.count == count else {
      throw SwapInputError("\(file): metadata 'classes' names \(names.count) classes; the head has \(count) rows")
    }
    return names
  }

  static func floats(_ text: String?, count: Int, default value: Float, file: String) throws -> [Float] {
    guard let text else { return Array(repeating: value, count: count) }
    guard let values = try? JSONDecoder().decode([Float].self, from: Data(text.utf8)), values.count == count,
      values.allSatisfy({ $0.isFinite })
    else { throw SwapInputError("\(file): metadata '\(text)' is not \(count) finite numbers") }
    return values
  }
}
