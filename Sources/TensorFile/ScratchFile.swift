// A tool's own temporary file (not an output): kswap-pack's spool of a pipe it must read out of order.

import Glibc

/// A file created in `directory` for the process's own use, removed when this object goes away and,
/// like an unfinished output, when SIGINT, SIGTERM or SIGHUP ends the process.
public final class ScratchFile {
  public let path: String

  /// Creates an empty file named `prefix` plus six random characters in `directory`.
  public init(directory: String, prefix: String) throws {
    let created = try TemporaryFiles.create(prefix: "\(directory)/\(prefix)", for: directory)
    close(created.descriptor)
    path = created.path
  }

  deinit { TemporaryFiles.remove(path) }
}
