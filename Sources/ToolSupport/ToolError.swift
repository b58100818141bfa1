// The error a tool throws for bad input or a failure it detected itself (exit status 2).

import Glibc

/// A failure described in one sentence that names the file, the tensor and what was expected.
///
/// The runner prints it as `kswap-<tool>: error: <message>` and exits 2. Library errors
/// (`TensorFileError` and the like) are printed the same way; use `ToolError` for what a command
/// itself checks (a flag value that only the file can contradict, an I/O step outside the libraries).
public struct ToolError: Error, CustomStringConvertible, Equatable {
  public enum Kind: String, Equatable, Sendable {
    case io  // the operating system refused a read, write or directory
    case terminal  // binary data refused to or from a terminal
    case output  // an output path that cannot be used: it exists, is a directory or is also an input
    case option  // an option the input or another option rules out, or that matches nothing in it
    case input  // an input file the command cannot use: of another sort, empty, or from another run
    case unsupported  // what this build of kswap does not do yet
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

  /// An operating-system failure on a path: `<path>: <what was being done>: <strerror>`.
  public static func system(_ path: String, _ doing: String, errno code: Int32 = errno) -> ToolError {
    ToolError(.io, file: path, "\(doing): \(String(cString: strerror(code)))")
  }
}
