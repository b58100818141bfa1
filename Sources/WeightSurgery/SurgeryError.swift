// The error the weight-surgery library throws (adapters, their settings, merge, optimizer state); errors
// of the tensor-file layer below pass through as they are.

/// What kind of fault, the file (and tensor) at fault and what was expected.
public struct SurgeryError: Error, Equatable, Sendable, CustomStringConvertible {
  public enum Kind: String, Equatable, Sendable {
    case notAnAdapter  // no LoRA settings, or a directory without adapter weights
    case invalidSettings  // LoRA settings (adapter_config.json or metadata) with a bad field, pattern or rank
    case invalidTensor  // an adapter tensor that breaks the layout: its rank, dtype, shape or a missing partner
    case unsupported  // a valid adapter of a kind kswap does not merge or export (DoRA, fan_in_fan_out)
    case mismatch  // an adapter that does not fit the base: a tensor it lacks, a shape, a fingerprint
    case invalidOption  // a merge option the inputs rule out (--weight count, a --dtype that is no float)
    case nonFinite  // a merge whose result is not finite in the output dtype
  }

  public let kind: Kind
  public let file: String
  public let tensor: String?
  public let message: String

  public init(_ kind: Kind, _ file: String, tensor: String? = nil, _ message: String) {
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
