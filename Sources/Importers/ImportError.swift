// Importers: turn foreign files (IDX, CSV image tables, numpy .npy/.npz, image folders, members of
// zip archives) into tensors and datasets. Libraries never print or exit: every problem is thrown.

/// A foreign input that cannot be imported: names the file (and member) and says what is wrong.
public struct ImportError: Error, Equatable, CustomStringConvertible {
  /// The file, as `archive.zip:member` for a member of an archive.
  public let file: String
  public let message: String

  public init(_ file: String, _ message: String) {
    self.file = file
    self.message = message
  }

  public var description: String { "\(file): \(message)" }
}

/// Upper bounds checked before anything is allocated from a size that an input claims.
public struct ImportLimits: Sendable {
  /// Largest decompressed file or archive member read into memory.
  public var maxBytes: Int
  /// Largest element count of one imported array.
  public var maxElements: Int
  /// Largest width x height of one decoded image.
  public var maxImagePixels: Int

  public init(maxBytes: Int = 1 << 32, maxElements: Int = 1 << 32, maxImagePixels: Int = 1 << 26) {
    self.maxBytes = maxBytes
    self.maxElements = maxElements
    self.maxImagePixels = maxImagePixels
  }

  public static let standard = ImportLimits()
}

/// Labels index class names, so they stay below this (16,777,216 classes).
public let maxLabel: Int64 = 1 << 24

/// Product of dimensions, or nil on overflow.
func checkedProduct(_ values: [Int]) -> Int? {
  var product = 1
  for value in values {
    guard value >= 0 else { return nil }
    let (result, overflow) = product.multipliedReportingOverflow(by: value)
    if overflow { return nil }
    product = result
  }
  return product
}
