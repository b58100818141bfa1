// Atomic outputs, -o resolution and the binary-to-terminal refusal.

import Foundation
import Glibc
import Testing
import ToolSupport

@Suite struct OutputTests {
  func options(_ arguments: [String]) throws -> OutputOptions {
    try OutputOptions.parse(arguments)
  }

  func contents(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
  }

  func writeText(_ descriptor: Int32, _ text: String) {
    _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(descriptor, $0.baseAddress, $0.count - 1) }
  }

  @Test func noOutputMeansStdoutUnlessATerminal() throws {
    let console = Console(standardOutputIsTerminal: false)
    #expect(try options([]).destination(binary: true, console: console) == .standardOutput)
    #expect(try options(["-o", "-"]).destination(binary: true, console: console) == .standardOutput)
    #expect(try options(["-o", "x.kst"]).destination(binary: true, console: console) == .file("x.kst"))
  }

  @Test func binaryToATerminalIsRefusedWithAHint() throws {
    let terminal = Console(standardOutputIsTerminal: true)
    let error = #expect(throws: ToolError.self) { try options([]).destination(binary: true, console: terminal) }
    #expect(error?.kind == .terminal)
    do {
      _ = try options(["-o", "-"]).destination(binary: true, console: terminal)
      Issue.record("expected a refusal")
    } catch let error as ToolError {
      #expect(error.message.contains("use -o FILE"))
    }
    #expect(try options(["-f"]).destination(binary: true, console: terminal) == .standardOutput)
    #expect(try options([]).destination(binary: false, console: terminal) == .standardOutput)
  }

  @Test func committedOutputAppearsWholeWithNoLitter() throws {
    let scratch = ScratchDirectory()
    let path = scratch.file("out.bin")
    try options(["-o", path]).write { descriptor in
      #expect(!FileManager.default.fileExists(atPath: path))
      writeText(descriptor, "payload")
    }
    #expect(contents(path) == "payload")
    #expect(scratch.listing() == ["out.bin"])
  }

  @Test func failedWriteLeavesTheOldFileAndNoLitter() throws {
    let scratch = ScratchDirectory()
    let path = scratch.file("out.bin")
    _ = FileManager.default.createFile(atPath: path, contents: Data("old".utf8))
    #expect(throws: ToolError.self) {
      try options(["-o", path, "-f"]).write { descriptor in
        writeText(descriptor, "half of the new")
        throw ToolError(.input, file: "in.kst", "truncated")
      }
    }
    #expect(contents(path) == "old")
    #expect(scratch.listing() == ["out.bin"])
  }

  @Test func existingOutputNeedsForce() throws {
    let scratch = ScratchDirectory()
    let path = scratch.file("out.bin")
    _ = FileManager.default.createFile(atPath: path, contents: Data("old".utf8))
    do {
      try options(["-o", path]).write { writeText($0, "new") }
      Issue.record("expected a refusal")
    } catch let error as ToolError {
      #expect(error == ToolError(.output, file: path, "already exists; use -f to replace it"))
      #expect(error.description == "\(path): already exists; use -f to replace it")
    }
    #expect(contents(path) == "old")
    try options(["-o", path, "--force"]).write { writeText($0, "new") }
    #expect(contents(path) == "new")
  }

  @Test func writingOntoAnInputNeedsForceAndStillReplacesAtomically() throws {
    let scratch = ScratchDirectory()
    let path = scratch.file("model.kst")
    _ = FileManager.default.createFile(atPath: path, contents: Data("input".utf8))
    let error = #expect(throws: ToolError.self) {
      try options(["-o", path]).write(inputs: [path]) { writeText($0, "new") }
    }
    #expect(error?.kind == .output)
    // With -f the old inode stays readable to an open reader while the new file is written.
    let reader = open(path, O_RDONLY)
    defer { close(reader) }
    try options(["-o", path, "-f"]).write(inputs: [path]) { writeText($0, "rewritten") }
    var buffer = [UInt8](repeating: 0, count: 16)
    let count = read(reader, &buffer, 16)
    #expect(String(decoding: buffer.prefix(max(0, count)), as: UTF8.self) == "input")
    #expect(contents(path) == "rewritten")
  }

  @Test func outputIntoADirectoryIsRefused() throws {
    let scratch = ScratchDirectory()
    #expect(throws: ToolError(.output, file: scratch.path, "is a directory; expected a file path for the output")) {
      try options(["-o", scratch.path, "-f"]).write { writeText($0, "x") }
    }
  }

  @Test func standardInputFromATerminalIsRefused() throws {
    let error = #expect(throws: ToolError.self) {
      try InputPath.check("-", console: Console(standardInputIsTerminal: true))
    }
    #expect(error?.kind == .terminal)
    try InputPath.check("-", console: Console(standardInputIsTerminal: false))
    try InputPath.check("model.kst", console: Console(standardInputIsTerminal: true))
  }
}
