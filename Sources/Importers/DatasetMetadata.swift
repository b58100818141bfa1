import Foundation
import TensorFile

/// The `__metadata__` keys of a dataset file (Formats/dataset.md): all values are strings, as
/// safetensors requires; lists are JSON arrays inside the string.
public enum DatasetMetadataKey {
  /// "1": marks the file as a kswap dataset, format version 1.
  public static let dataset = "dataset"
  /// JSON array, index = label: a class name, or null for a label this file does not name.
  public static let classes = "classes"
  /// JSON arrays of per-channel numbers on the [0, 1] pixel scale.
  public static let mean = "mean"
  public static let std = "std"
  public static let source = "source"
  public static let split = "split"
}

extension Dataset {
  /// The names of the two tensors.
  public static let imagesName = "images"
  public static let labelsName = "labels"

  /// The file's `__metadata__` for this dataset; other keys in `extra` are kept.
  public func metadata(extra: [String: String] = [:]) -> [String: String] {
    var metadata = extra
    metadata[DatasetMetadataKey.dataset] = "1"
    metadata[DatasetMetadataKey.classes] = Self.json(classes)
    if let mean { metadata[DatasetMetadataKey.mean] = Self.json(mean) }
    if let std { metadata[DatasetMetadataKey.std] = Self.json(std) }
    if let source { metadata[DatasetMetadataKey.source] = source }
    if let split { metadata[DatasetMetadataKey.split] = split }
    return metadata
  }

  /// Reads the dataset keys of a file's metadata; `file` names it in errors.
  public static func parseMetadata(_ metadata: [String: String], file: String) throws
    -> (classes: [String?], mean: [Double]?, std: [Double]?, source: String?, split: String?)
  {
    func decode<T: Decodable>(_ key: String, as type: T.Type) throws -> T? {
      guard let text = metadata[key] else { return nil }
      do {
        return try JSONDecoder().decode(T.self, from: Data(text.utf8))
      } catch {
        throw ImportError(file, "metadata \"\(key)\" is not a JSON array of the right kind: \(text.prefix(80))")
      }
    }
    return (try decode(DatasetMetadataKey.classes, as: [String?].self) ?? [],
            try decode(DatasetMetadataKey.mean, as: [Double].self),
            try decode(DatasetMetadataKey.std, as: [Double].self),
            metadata[DatasetMetadataKey.source], metadata[DatasetMetadataKey.split])
  }

  /// Fills in mean and std from the images themselves where they are not set.
  public mutating func setStatisticsIfMissing() {
    guard mean == nil || std == nil else { return }
    let statistics = channelStatistics()
    if mean == nil { mean = statistics.mean.map(Self.rounded) }
    // A constant channel would give std 0, which no model can divide by.
    if std == nil { std = statistics.std.map { $0 > 0 ? Self.rounded($0) : 1 } }
  }

  /// Six significant digits: enough for normalisation, and stable text in the file.
  private static func rounded(_ value: Double) -> Double {
    Double(String(format: "%.6g", value))!
  }

  /// Class names, null for a label this file does not name.
  private static func json(_ names: [String?]) -> String {
    JSON.array(names.map { $0.map(JSON.string) ?? .null }).text()
  }

  /// Numbers in Swift's shortest round-trip form (`1.0` keeps its fraction, as kswap-pack has always
  /// written it); null for a non-finite number.
  private static func json(_ numbers: [Double]) -> String {
    JSON.array(numbers.map { $0.isFinite ? .number("\($0)") : .null }).text()
  }
}
