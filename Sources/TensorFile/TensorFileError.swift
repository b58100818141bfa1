// Every failure the format layer reports: which file, which tensor (when one is involved) and what
// was expected. The kinds mirror the reference safetensors reader's error names where they overlap,
// so a test can tell a rejected file was rejected for the right reason.

public struct TensorFileError: Error, Equatable, Sendable, CustomStringConvertible {
  public enum Kind: String, Equatable, Sendable {
    // safetensors reader errors (names as in the Rust reference).
    case headerTooSmall, headerTooLarge, invalidHeaderLength, invalidHeader
    case invalidHeaderDeserialization, invalidOffset, validationOverflow, misalignedSlice
    case tensorInvalidInfo, metadataIncompleteBuffer
    // Everything else.
    case io  // the operating system refused a read, write, open or rename
    case truncated  // the input ended before the bytes the header promises
    case trailingData  // bytes after the end of the last tensor / index
    case corrupt  // compressed container damaged: bad magic, checksum, frame size
    case unsupported  // a valid file this build cannot read (newer version, unknown codec)
    case notSeekable  // random access asked of a pipe
    case noSuchTensor
    case limitExceeded  // a size beyond the documented hard limits
    case usage  // the caller broke the writer's or reader's protocol
    case conversion  // a dtype conversion that cannot be done
    case invalidJSON  // text that is not JSON (syntax, nesting deeper than 128), e.g. a config file
  }

  public let kind: Kind
  public let file: String
  public let tensor: String?
  public let message: String

  public init(_ kind: Kind, file: String, tensor: String? = nil, _ message: String) {
    self.kind = kind
    self.file = file
    self.tensor = tensor
    self.message = message
  }

  public var description: String {
    if let tensor { return "\(file): tensor '\(tensor)': \(message)" }
    return "\(file): \(message)"
  }
}
