// Runs a tool in-process with stdout and stderr captured in temporary files and terminals faked.

import Foundation
import Glibc
import ToolSupport

/// What a tool printed and the status it returned.
struct Captured {
  var status: Int32
  var standardOutput: Data
  var standardError: String
  var text: String { String(decoding: standardOutput, as: UTF8.self) }
}

/// A scratch directory removed when the value goes away.
final class ScratchDirectory {
  let path: String

  init() {
    var template = Array("\(NSTemporaryDirectory())/kswap-test-XXXXXX".utf8CString)
    precondition(mkdtemp(&template) != nil, "cannot create a scratch directory")
    path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  func file(_ name: String) -> String { "\(path)/\(name)" }

  /// Names in the directory, hidden ones included (to catch temporary-file litter).
  func listing() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
  }

  deinit {
    try? FileManager.default.removeItem(atPath: path)
  }
}

/// Runs `body` with `Console.current` writing to temporary files, then returns what it wrote.
func capture(
  stdin: Data = Data(), stdinIsTerminal: Bool = false, stdoutIsTerminal: Bool = false,
  stderrIsTerminal: Bool = false, _ body: () throws -> Int32
) rethrows -> Captured {
  let scratch = ScratchDirectory()
  let inPath = scratch.file("stdin"), outPath = scratch.file("stdout"), errPath = scratch.file("stderr")
  _ = FileManager.default.createFile(atPath: inPath, contents: stdin)
  let input = open(inPath, O_RDONLY)
  let output = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  let error = open(errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  defer {
    close(input)
    close(output)
    close(error)
  }
  let console = Console(
    standardInput: input, standardOutput: output, standardError: error,
    standardInputIsTerminal: stdinIsTerminal, standardOutputIsTerminal: stdoutIsTerminal,
    standardErrorIsTerminal: stderrIsTerminal)
  let status = try Console.$current.withValue(console) { try body() }
  return Captured(
    status: status,
    standardOutput: FileManager.default.contents(atPath: outPath) ?? Data(),
    standardError: String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self))
}
