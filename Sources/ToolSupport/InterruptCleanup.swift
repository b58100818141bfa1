// Interrupt cleanup for temporary files that a library (TensorWriter) creates beside an output.

import Glibc

/// Removes, if the process is interrupted (SIGINT, SIGTERM, SIGHUP), the temporary file that a
/// library opened beside `destination` and has not renamed yet.
///
/// The library does not say which file that is, so this finds it: a file in the destination's
/// directory whose name starts with `.<name>.` and that this process holds open (matched by device
/// and inode against /proc/self/fd). Create it right after the writer, release it after the writer
/// has finished or aborted.
///
///     let writer = try TensorWriter(path: path, ...)
///     let cleanup = InterruptCleanup(temporaryFileBeside: path)
///     defer { cleanup.release() }
public final class InterruptCleanup {
  public private(set) var paths: [String] = []

  public init(temporaryFileBeside destination: String) {
    guard destination != "-" else { return }
    let (directory, name) = splitPath(destination)
    let open = openFiles()
    guard let stream = opendir(directory) else { return }
    defer { closedir(stream) }
    while let entry = readdir(stream) {
      let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard entryName.hasPrefix(".\(name)."), entryName != name else { continue }
      let path = "\(directory)/\(entryName)"
      var info = stat()
      guard lstat(path, &info) == 0, open.contains(FileIdentity(info)) else { continue }
      TemporaryFiles.withSignalsBlocked { TemporaryFiles.register(Array(path.utf8CString)) }
      paths.append(path)
    }
  }

  /// Stops watching the files (after they were renamed into place or removed).
  public func release() {
    for path in paths { TemporaryFiles.unregister(path) }
    paths = []
  }

  deinit {
    release()
  }
}

/// A file's device and inode.
struct FileIdentity: Hashable {
  let device: UInt64
  let inode: UInt64

  init(_ info: stat) {
    device = UInt64(info.st_dev)
    inode = UInt64(info.st_ino)
  }
}

/// The regular files this process has open.
func openFiles() -> Set<FileIdentity> {
  var result = Set<FileIdentity>()
  guard let stream = opendir("/proc/self/fd") else { return result }
  defer { closedir(stream) }
  while let entry = readdir(stream) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    guard let descriptor = Int32(name) else { continue }
    var info = stat()
    if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { result.insert(FileIdentity(info)) }
  }
  return result
}
