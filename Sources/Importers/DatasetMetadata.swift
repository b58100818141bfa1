import Foundation
import TensorFile

extension Dataset {
  /// The file's `__metadata__` for this dataset; other keys in `extra` are kept.
  public func metadata(extra: [String: String] = [:]) -> [String: String] {
    var metadata = extra
    metadata[DatasetLayout.Key.dataset] = DatasetLayout.version
    metadata[DatasetLayout.Key.classes] = Self.json(classes)
    if let mean { metadata[DatasetLayout.Key.mean] = Self.json(mean) }
    if let std { metadata[DatasetLayout.Key.std] = Self.json(std) }
    if let source { metadata[DatasetLayout.Key.source] = source }
    if let split { metadata[DatasetLayout.Key.split] = split }
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
        throw ImportError(
          .invalidDataset, file, "metadata \"\(key)\" is not a JSON array of the right kind: \(text.prefix(80))")
      }
    }
    return (
      try decode(DatasetLayout.Key.classes, as: [String?].self) ?? [],
      try decode(DatasetLayout.Key.mean, as: [Double].self),
      try decode(DatasetLayout.Key.std, as: [Double].self),
      metadata[DatasetLayout.Key.source], metadata[DatasetLayout.Key.split]
    )
  }

  /// Fills in mean and std from the images themselves where they are not set.
  public mutating func setStatisticsIfMissing() {
    guard mean == nil || std == nil else { return }
    let statistics = Self.normalisation(channelStatistics())
    if mean == nil { mean = statistics.mean }
    if std == nil { std = statistics.std }
  }

  /// Channel statistics as the metadata records them: rounded, and std 1 for a constant channel
  /// (std 0 is something no model can divide by).
  static func normalisation(_ statistics: (mean: [Double], std: [Double])) -> (mean: [Double], std: [Double]) {
    (statistics.mean.map(rounded), statistics.std.map { $0 > 0 ? rounded($0) : 1 })
  }

  /// Six significant digits: enough for normalisation, and stable text in the file.
  private static func rounded(_ value: Double) -> Double {
    Double(String(format: "%.6g", value))!
  }

  /// Class names, null for a label this file does not name.
  static func json(_ names: [String?]) -> String {
    JSON.array(names.map { $0.map(JSON.string) ?? .null }).text()
  }

  /// Numbers in Swift's shortest round-trip form (`1.0` keeps its fraction, as kswap-pack has always
  /// written it); null for a non-finite number.
  static func json(_ numbers: [Double]) -> String {
    JSON.array(numbers.map { $0.isFinite ? .number("\($0)") : .null }).text()
  }
}
