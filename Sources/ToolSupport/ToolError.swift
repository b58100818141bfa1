// The error a tool throws for bad input or a failure it detected itself (exit status 2).

import Glibc

/// A failure described in one sentence that names the file, the tensor and what was expected.
///
/// The runner prints it as `kswap-<tool>: error: <message>` and exits 2. Library errors
/// (`TensorFileError` and the like) are printed the same way; use `ToolError` for what a command
/// itself checks (a flag value that only the file can contradict, an I/O step outside the libraries).
public struct ToolError: Error, CustomStringConvertible, Equatable {
  public let message: String

  public init(_ message: String) {
    self.message = message
  }

  public var description: String { message }

  /// An operating-system failure on a path: `<path>: <what was being done>: <strerror>`.
  public static func system(_ path: String, _ doing: String, errno code: Int32 = errno) -> ToolError {
    ToolError("\(path): \(doing): \(String(cString: strerror(code)))")
  }
}
