// An output that is a directory of files (a PEFT adapter directory) appears whole or not at all, as
// OutputFile does for one file: the files are written into a temporary directory beside the
// destination, which is renamed into place when all of them are complete.

import Glibc

/// A directory written atomically: `.<name>.kswap-XXXXXX` beside the destination until `commit()`.
///
/// The files it will hold are named up front and registered with the temporary directory, so an
/// error, `discard()`, deinit, SIGINT, SIGTERM or SIGHUP removes them and the directory, and the
/// destination is untouched until `commit()`. Write each file to `path(of:)` with a writer of its own
/// (TensorWriter, OutputFile): they are atomic inside the temporary directory too.
///
/// An existing destination is replaced only when `commit(replacing:)` allows the files it holds:
/// it is moved aside, the new directory renamed into its place (both with the signals held off,
/// so the destination is never missing when the process is interrupted), and the old one removed.
public final class OutputDirectory {
  /// The path as given, without trailing slashes.
  public let destination: String
  /// The directory the files go to until `commit()`; nil once committed or discarded.
  public private(set) var temporaryPath: String?
  /// The file names it will hold.
  public let names: [String]

  /// Creates the temporary directory beside `path` for files `names` (plain names, no slashes).
  public init(path: String, files names: [String]) throws {
    var trimmed = path
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
    destination = trimmed
    self.names = names
    let (directory, name) = splitPath(trimmed)
    guard !name.isEmpty, name != ".", name != ".." else {
      throw TensorFileError(.usage, file: path, "is not a name a new directory can take")
    }
    temporaryPath = try TemporaryFiles.createDirectory(
      prefix: "\(directory)/.\(name).kswap-", for: trimmed, holding: names)
  }

  deinit { discard() }

  /// Where to write file `name` before `commit()`.
  public func path(of name: String) -> String {
    precondition(names.contains(name), "\(name) is not one of the directory's files")
    return "\(temporaryPath ?? destination)/\(name)"
  }

  /// Refuses `path` as the destination of a new directory: an existing file or symbolic link always;
  /// an existing directory unless `replacing` holds the name of every entry in it (then each entry
  /// must be a plain file, which `commit` removes with the old directory). `hint` says how to allow it.
  public static func checkDestination(_ path: String, replacing: Set<String>?, hint: String) throws {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    guard (info.st_mode & S_IFMT) == S_IFDIR else {
      throw TensorFileError(.usage, file: path, "already exists and is not a directory; write the directory elsewhere")
    }
    guard let replacing else { throw TensorFileError(.usage, file: path, "already exists; \(hint)") }
    for entry in try entries(of: path) {
      var entryInfo = stat()
      let isFile = lstat("\(path)/\(entry)", &entryInfo) == 0 && (entryInfo.st_mode & S_IFMT) == S_IFREG
      guard replacing.contains(entry), isFile else {
        throw TensorFileError(
          .usage, file: path,
          "holds '\(entry)', which is not one of the files it would be replaced with; not replaced, even when forced")
      }
    }
  }

  /// Flushes the files and the temporary directory and renames it onto the destination. An existing
  /// destination is checked with `checkDestination(replacing:)` first. On failure the temporary
  /// directory is removed and the destination kept.
  public func commit(replacing: Set<String>? = nil) throws {
    guard let temporary = temporaryPath else {
      throw TensorFileError(.usage, file: destination, "committed after it was committed or discarded")
    }
    do {
      for name in names {
        try sync("\(temporary)/\(name)", what: "cannot flush \(name) to disk")
      }
      try sync(temporary, what: "cannot flush the directory to disk")
      try Self.checkDestination(destination, replacing: replacing, hint: "not replaced")
      var info = stat()
      if lstat(destination, &info) == 0 {
        try replace(with: temporary)
      } else if TemporaryFiles.rename(temporary, to: destination) != 0 {
        throw InputFile.osError(destination, "cannot rename the finished directory into place")
      }
    } catch {
      discard()
      throw error
    }
    TemporaryFiles.forgetAll(under: temporary)
    temporaryPath = nil
    let parent = open(splitPath(destination).directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if parent >= 0 {
      fsync(parent)
      close(parent)
    }
  }

  /// Removes the temporary directory and its files; the destination stays as it was. Safe to call
  /// twice, and after `commit()` it does nothing.
  public func discard() {
    guard let temporary = temporaryPath else { return }
    for name in names { TemporaryFiles.remove("\(temporary)/\(name)") }
    TemporaryFiles.remove(temporary)
    temporaryPath = nil
  }

  /// Moves the existing destination aside (its files registered, so a signal removes them), renames
  /// the new directory into its place, then removes the old one.
  private func replace(with temporary: String) throws {
    let (directory, name) = splitPath(destination)
    let old = try entries(of: destination)
    let aside = try TemporaryFiles.createDirectory(
      prefix: "\(directory)/.\(name).kswap-", for: destination, holding: old)
    let failure = TemporaryFiles.withSignalsBlocked { () -> String? in
      guard Glibc.rename(destination, aside) == 0 else { return "cannot move the existing directory aside" }
      guard TemporaryFiles.rename(temporary, to: destination) == 0 else {
        let code = errno
        Glibc.rename(aside, destination)
        errno = code
        return "cannot rename the finished directory into place"
      }
      return nil
    }
    if let failure {
      let error = InputFile.osError(destination, failure)
      TemporaryFiles.forgetAll(under: aside)
      TemporaryFiles.remove(aside)
      throw error
    }
    for entry in old { TemporaryFiles.remove("\(aside)/\(entry)") }
    TemporaryFiles.remove(aside)
  }

  private func sync(_ path: String, what: String) throws {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw InputFile.osError(destination, what) }
    defer { close(descriptor) }
    guard fsync(descriptor) == 0 || errno == EINVAL else { throw InputFile.osError(destination, what) }
  }

  private func entries(of path: String) throws -> [String] { try Self.entries(of: path) }

  /// The names in directory `path`, without "." and "..".
  static func entries(of path: String) throws -> [String] {
    guard let stream = opendir(path) else { throw InputFile.osError(path, "cannot list the directory") }
    defer { closedir(stream) }
    var names: [String] = []
    while let entry = readdir(stream) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }
}
