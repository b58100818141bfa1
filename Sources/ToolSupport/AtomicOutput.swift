// Output files appear whole or not at all: write a temporary file beside the target, rename on success.

import Glibc

/// A file being written to a temporary path beside its destination, renamed into place by `commit()`.
///
/// Until `commit()` the destination is untouched; on a thrown error, `discard()` (or deinit) removes
/// the temporary file, and SIGINT, SIGTERM and SIGHUP remove it too before the process dies. Only an
/// uncatchable kill (SIGKILL, power loss) can leave a `.<name>.kswap-XXXXXX` file behind, never a
/// half-written destination. Because the data lands in a new file, reading an input while writing
/// an output of the same name is safe: the input is never overwritten in place.
public final class AtomicOutput {
  /// The final path.
  public let destination: String
  /// Where the data is written until `commit()`.
  public let temporaryPath: String
  /// Descriptor of the temporary file, open for writing.
  public private(set) var fileDescriptor: Int32
  private var finished = false

  /// Creates the temporary file beside `destination`.
  ///
  /// - Parameter force: replace an existing destination; without it an existing file is an error.
  public init(destination: String, force: Bool) throws {
    self.destination = destination
    var info = stat()
    if lstat(destination, &info) == 0 {
      if (info.st_mode & S_IFMT) == S_IFDIR {
        throw ToolError("\(destination): is a directory; expected a file path for the output")
      }
      if !force {
        throw ToolError("\(destination): already exists; use -f to replace it")
      }
    }
    let (directory, name) = splitPath(destination)
    var template = Array("\(directory)/.\(name).kswap-XXXXXX".utf8CString)
    let descriptor = TemporaryFiles.withSignalsBlocked { () -> Int32 in
      let descriptor = mkstemp(&template)
      if descriptor >= 0 { TemporaryFiles.register(template) }
      return descriptor
    }
    guard descriptor >= 0 else {
      throw ToolError.system(directory, "cannot create a temporary file for \(destination)")
    }
    // mkstemp creates 0600; give the output the permissions a new file would normally get.
    let mask = umask(0)
    umask(mask)
    fchmod(descriptor, 0o666 & ~mask)
    self.fileDescriptor = descriptor
    self.temporaryPath = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Flushes the data to disk and renames the temporary file onto the destination.
  public func commit() throws {
    precondition(!finished, "AtomicOutput committed or discarded twice")
    if fsync(fileDescriptor) != 0 {
      let code = errno
      discard()
      throw ToolError.system(destination, "cannot flush the output to disk", errno: code)
    }
    if close(fileDescriptor) != 0 {
      let code = errno
      fileDescriptor = -1
      discard()
      throw ToolError.system(destination, "cannot finish writing", errno: code)
    }
    fileDescriptor = -1
    if rename(temporaryPath, destination) != 0 {
      let code = errno
      discard()
      throw ToolError.system(destination, "cannot rename the finished output into place", errno: code)
    }
    finished = true
    TemporaryFiles.unregister(temporaryPath)
    // Make the rename itself durable.
    let directory = open(splitPath(destination).directory, O_RDONLY | O_DIRECTORY)
    if directory >= 0 {
      fsync(directory)
      close(directory)
    }
  }

  /// Closes and removes the temporary file; the destination stays as it was. Safe to call twice.
  public func discard() {
    guard !finished else { return }
    finished = true
    if fileDescriptor >= 0 { close(fileDescriptor) }
    fileDescriptor = -1
    unlink(temporaryPath)
    TemporaryFiles.unregister(temporaryPath)
  }

  deinit {
    discard()
  }
}

/// `("dir", "name")` for "dir/name"; `(".", "name")` for a bare name.
func splitPath(_ path: String) -> (directory: String, name: String) {
  guard let slash = path.lastIndex(of: "/") else { return (".", path) }
  let directory = String(path[..<slash])
  return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
}
