// Resolving -o/--output into a destination, and writing a product there safely.

import Glibc
import TensorFile

/// Where a tool's product goes.
public enum OutputDestination: Equatable {
  /// The console's stdout (no `-o`, or `-o -`).
  case standardOutput
  /// A file, written through `OutputFile` (a temporary file renamed into place).
  case file(String)
}

extension OutputOptions {
  /// The destination these options name, refusing binary data to a terminal without `-f`.
  public func destination(binary: Bool, console: Console = .current) throws -> OutputDestination {
    if let output, output != "-" { return .file(output) }
    if binary && console.standardOutputIsTerminal && !force {
      throw ToolError(
        .terminal,
        "refusing to write binary data to a terminal; use -o FILE, redirect with > or |, or -f to force it")
    }
    return .standardOutput
  }

  /// The path to hand a writer that does its own temp-file-and-rename (TensorWriter): `-` for
  /// stdout, else the file, after the same checks `write` makes (binary to a terminal, an existing
  /// file or an input without `-f`, a directory).
  ///
  /// - Parameter existingAllowed: an existing file that is not an input may be replaced without
  ///   `-f` (a resumed run finishing the output it started).
  public func resolvedPath(
    binary: Bool = true, inputs: [String] = [], existingAllowed: Bool = false, console: Console = .current
  ) throws -> String {
    switch try destination(binary: binary, console: console) {
    case .standardOutput:
      return "-"
    case .file(let path):
      try checkReplaceable(path, inputs: inputs, existingAllowed: existingAllowed)
      return path
    }
  }

  /// Refuses a directory, and an existing file or an input without `-f`.
  func checkReplaceable(_ path: String, inputs: [String], existingAllowed: Bool = false) throws {
    try checkOutputPath(path, force: force, inputs: inputs, existingAllowed: existingAllowed)
  }

  /// Writes the product: `body` gets a descriptor to write to (stdout, or a temporary file that is
  /// renamed onto the destination when `body` returns and removed when it throws).
  ///
  /// - Parameter inputs: the paths the tool reads. Writing to one of them is allowed only with `-f`
  ///   (it is safe, since the output lands in a new file, but almost always a slip).
  @discardableResult
  public func write<T>(
    binary: Bool = true, inputs: [String] = [], console: Console = .current, _ body: (Int32) throws -> T
  ) throws -> T {
    switch try destination(binary: binary, console: console) {
    case .standardOutput:
      return try body(console.standardOutput)
    case .file(let path):
      try checkReplaceable(path, inputs: inputs)
      let output = try OutputFile(path: path)
      do {
        let result = try body(output.fileDescriptor)
        try output.commit()
        return result
      } catch {
        output.discard()
        throw error
      }
    }
  }
}

/// Refuses `path` as an output file: a directory always; without `force`, one of `inputs` or (unless
/// `existingAllowed`) any existing file; and a path whose directory cannot take it
/// (`checkOutputDirectory`). For an output that has a flag of its own, like kswap-eval's --logits; -o
/// goes through `OutputOptions`.
public func checkOutputPath(_ path: String, force: Bool, inputs: [String] = [], existingAllowed: Bool = false) throws {
  var info = stat()
  if lstat(path, &info) == 0 {
    if (info.st_mode & S_IFMT) == S_IFDIR {
      throw ToolError(.output, file: path, "is a directory; expected a file path for the output")
    }
    if !force, let input = inputs.first(where: { sameFile($0, path) }) {
      throw ToolError(.output, file: path, "is also the input \(input); write elsewhere, or use -f to replace it")
    }
    if !force && !existingAllowed { throw ToolError(.output, file: path, "already exists; use -f to replace it") }
  }
  try checkOutputDirectory(path)
}

/// Refuses an output file that its directory cannot take: missing, not a directory, or not writable.
/// A file is written beside its destination and renamed into place, so the tools check this before
/// any work, and a long run never ends unable to save its result. A device or FIFO is written in place
/// and not checked, nor is "-".
public func checkOutputDirectory(_ path: String) throws {
  var info = stat()
  if path == "-" || (stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG) { return }
  let directory = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
  let problem: Int32? =
    stat(directory, &info) != 0
    ? errno : (info.st_mode & S_IFMT) != S_IFDIR ? ENOTDIR : access(directory, W_OK | X_OK) != 0 ? errno : nil
  if let problem { throw ToolError.system(path, "cannot create it in \(directory)", errno: problem) }
}

/// Whether two paths name the same existing file (same device and inode); never for "-".
public func sameFile(_ first: String, _ second: String) -> Bool {
  guard first != "-", second != "-" else { return false }
  var a = stat()
  var b = stat()
  guard stat(first, &a) == 0, stat(second, &b) == 0 else { return false }
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino
}
