// Importers: turn foreign files (IDX, CSV image tables, numpy .npy/.npz, image folders, members of
// zip archives) into tensors and datasets. Libraries never print or exit: every problem is thrown.

import Foundation

/// A foreign input that cannot be imported: what kind of fault, the file (and member) and what is wrong.
public struct ImportError: Error, Equatable, Sendable, CustomStringConvertible {
  public enum Kind: String, Equatable, Sendable {
    case io  // the operating system refused to open, read or list it
    case unrecognised  // not the format it is read as (a magic or a required part missing)
    case truncated  // the data ends before what its header or archive promises
    case trailingData  // bytes after the end its header promises
    case malformed  // the format's structure is broken (a damaged image, archive, pickle or table)
    case unsupported  // a valid file of a kind kswap does not read (a dtype, a compression, a version)
    case unsafePickle  // a pickle that would run code: a global or opcode outside the allowed set
    case limitExceeded  // a size or count over a documented limit, or over what memory can hold
    case invalidDataset  // parts that do not make a dataset: labels, classes, shapes or values
    case notFound  // a member, array, tensor, class or partner file that is not there
    case invalidOption  // an option value the input cannot take (a fraction, a size, a scene setting)
  }

  public let kind: Kind
  /// The file, as `archive.zip:member` for a member of an archive.
  public let file: String
  public let message: String

  public init(_ kind: Kind, _ file: String, _ message: String) {
    self.kind = kind
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
  /// Most values (and, apart, memo entries) one pickle may create: torch.save writes about 22 per
  /// tensor, so the default covers some 47,000 tensors, in about 100 MB at most.
  public var maxPickleValues: Int

  public init(
    maxBytes: Int = 1 << 32, maxElements: Int = 1 << 32, maxImagePixels: Int = 1 << 26, maxPickleValues: Int = 1 << 20
  ) {
    self.maxBytes = maxBytes
    self.maxElements = maxElements
    self.maxImagePixels = maxImagePixels
    self.maxPickleValues = maxPickleValues
  }

  public static let standard = ImportLimits()

  /// The environment variables that raise (or lower) the limits a large checkpoint can reach.
  public static let bytesVariable = "KSWAP_MAX_IMPORT_BYTES"
  public static let pickleValuesVariable = "KSWAP_MAX_PICKLE_VALUES"

  /// The standard limits, with `maxBytes` (and `maxElements` with it) from KSWAP_MAX_IMPORT_BYTES and
  /// `maxPickleValues` from KSWAP_MAX_PICKLE_VALUES where they are set: positive counts, optionally
  /// with a K, M, G or T suffix (powers of 1024), e.g. 16G.
  public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
    -> ImportLimits
  {
    func count(_ variable: String) throws -> Int? {
      guard let text = environment[variable] else { return nil }
      let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
      let unit = text.last.flatMap { units[Character($0.uppercased())] }
      guard let number = Int(unit == nil ? Substring(text) : text.dropLast()), number > 0,
        case let (value, overflow) = number.multipliedReportingOverflow(by: unit ?? 1), !overflow
      else {
        throw ImportError(.invalidOption, variable, "must be a positive count such as 8589934592 or 8G, not '\(text)'")
      }
      return value
    }
    var limits = ImportLimits.standard
    if let bytes = try count(bytesVariable) {
      limits.maxBytes = bytes
      limits.maxElements = bytes
    }
    if let values = try count(pickleValuesVariable) { limits.maxPickleValues = values }
    return limits
  }
}

/// The most classes a dataset has: labels stay below this (65,536), more than any public classification
/// set (ImageNet-21k has 21,843). A dataset names a class for every label up to its largest, by its
/// number where nothing names it, so without a bound the 11-byte table `3,16777215` made 16.7 million
/// names.
public let maxLabel: Int64 = 1 << 16

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
