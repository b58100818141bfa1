// Every output file kswap writes appears whole or not at all: the bytes go to a temporary file
// beside the destination, which is renamed into place only when everything was written.

import Glibc

/// Where written bytes go: a temporary file beside the destination that `commit()` renames into
/// place, standard output for "-", or an existing FIFO, terminal or device, written directly.
///
/// The temporary file is `.<name>.kswap-XXXXXX` in the destination's directory, so the rename never
/// crosses file systems. Until `commit()` the destination is untouched. A thrown error, `discard()`
/// or deinit removes the temporary file, and so do SIGINT, SIGTERM and SIGHUP before they end the
/// process: only an uncatchable kill (SIGKILL, power loss) can leave one behind, never a half-written
/// destination. Because the data lands in a new file, a tool may read an input while writing an
/// output of the same name: the input is never overwritten in place.
///
///     let output = try OutputFile(path: "model.kst")
///     try output.write(bytes)
///     try output.commit()  // fsync, rename, fsync the directory
public final class OutputFile {
  /// The path as given, or `<stdout>`.
  public let displayName: String
  /// The path `commit()` renames onto; nil for stdout or a device.
  public let destination: String?
  /// Where the bytes go until `commit()`; nil for stdout or a device, and once committed or discarded.
  public private(set) var temporaryPath: String?
  /// The descriptor to write to; -1 once committed or discarded.
  public private(set) var fileDescriptor: Int32
  private let ownsDescriptor: Bool
  public private(set) var bytesWritten = 0

  /// Opens `path` for writing: "-" is stdout; a new or regular file gets a temporary file beside it;
  /// a directory is refused.
  public init(path: String) throws {
    if path == "-" {
      displayName = "<stdout>"
      destination = nil
      fileDescriptor = 1
      ownsDescriptor = false
      return
    }
    displayName = path
    ownsDescriptor = true
    // An existing FIFO, terminal or device (/dev/stdout, /dev/null) is written directly: it cannot
    // be replaced by a rename, and a reader may already be waiting on it.
    var status = stat()
    if stat(path, &status) == 0, (status.st_mode & S_IFMT) != S_IFREG {
      guard (status.st_mode & S_IFMT) != S_IFDIR else {
        throw TensorFileError(.io, file: path, "is a directory; expected a file path for the output")
      }
      destination = nil
      fileDescriptor = open(path, O_WRONLY | O_CLOEXEC)
      guard fileDescriptor >= 0 else { throw InputFile.osError(path, "cannot open for writing") }
      return
    }
    destination = path
    let (directory, name) = splitPath(path)
    let created = try TemporaryFiles.create(prefix: "\(directory)/.\(name).kswap-", for: path)
    fileDescriptor = created.descriptor
    temporaryPath = created.path
  }

  deinit {
    discard()
    if ownsDescriptor && fileDescriptor >= 0 { close(fileDescriptor) }
  }

  public func write(_ bytes: UnsafeRawBufferPointer) throws {
    guard fileDescriptor >= 0 else {
      throw TensorFileError(.usage, file: displayName, "written after it was committed or discarded")
    }
    var done = 0
    while done < bytes.count {
      let n = Glibc.write(fileDescriptor, bytes.baseAddress! + done, bytes.count - done)
      if n < 0 {
        if errno == EINTR { continue }
        throw InputFile.osError(displayName, "write failed")
      }
      done += n
    }
    bytesWritten += bytes.count
  }

  public func write(_ bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { try write($0) }
  }

  /// Flushes the file to disk and renames it onto the destination, then flushes the directory so the
  /// rename survives a crash too. On failure the temporary file is removed and the destination kept.
  /// For stdout nothing happens; a device is closed.
  public func commit() throws {
    guard let temporaryPath, let destination else {
      if ownsDescriptor && fileDescriptor >= 0 {
        let status = close(fileDescriptor)
        fileDescriptor = -1
        guard status == 0 else { throw InputFile.osError(displayName, "cannot close") }
      }
      return
    }
    do {
      guard fsync(fileDescriptor) == 0 || errno == EINVAL else {
        throw InputFile.osError(destination, "cannot flush the output to disk")
      }
      let status = close(fileDescriptor)
      fileDescriptor = -1
      guard status == 0 else { throw InputFile.osError(destination, "cannot finish writing") }
      guard TemporaryFiles.rename(temporaryPath, to: destination) == 0 else {
        throw InputFile.osError(destination, "cannot rename the finished output into place")
      }
    } catch {
      discard()
      throw error
    }
    self.temporaryPath = nil
    let directory = open(splitPath(destination).directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if directory >= 0 {
      fsync(directory)
      close(directory)
    }
  }

  /// Closes and removes the temporary file; the destination stays as it was. Safe to call twice,
  /// and after `commit()` it does nothing.
  public func discard() {
    guard let temporaryPath else { return }
    if fileDescriptor >= 0 { close(fileDescriptor) }
    fileDescriptor = -1
    TemporaryFiles.remove(temporaryPath)
    self.temporaryPath = nil
  }
}

/// `("dir", "name")` for "dir/name"; `(".", "name")` for a bare name; `("/", "name")` for "/name".
func splitPath(_ path: String) -> (directory: String, name: String) {
  guard let slash = path.lastIndex(of: "/") else { return (".", path) }
  let directory = String(path[..<slash])
  return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
}
