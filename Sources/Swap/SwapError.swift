// The error the swap library throws: a check on the user's files failed, before or during training.
// Errors of the libraries below (TensorFileError, ImportError, SurgeryError) pass through as they are.

/// What kind of fault, the file at fault (where one is) and what is wrong.
public struct SwapError: Error, Equatable, Sendable, CustomStringConvertible {
  public enum Kind: String, Equatable, Sendable {
    case invalidDataset  // a dataset file that breaks Formats/dataset.md: tensors, shapes, labels, masks, classes
    case invalidModel  // weights or their config that do not make a ViT: tensors, config values, class names
    case invalidAdapter  // an adapter the swap tools cannot apply: a full tensor besides the head, its classes
    case unsupported  // a model kswap does not run: another activation, pooling or MLP; a task not built yet
    case missingSetting  // something the model does not say and an option must (--heads, --mean, --std)
    case wrongFile  // a file of another sort or task where this one is needed (an adapter for a model)
    case mismatch  // inputs that do not fit together: a dataset and the model, an adapter and its base
    case limitExceeded  // more classes or mask rows than a dataset or a model may have
    case invalidResults  // a detection results file (COCO's results format) with an entry that is no detection
  }

  public let kind: Kind
  /// The file at fault, where there is one.
  public let file: String?
  public let message: String

  public init(_ kind: Kind, file: String? = nil, _ message: String) {
    self.kind = kind
    self.file = file
    self.message = message
  }

  public var description: String { file.map { "\($0): \(message)" } ?? message }
}
