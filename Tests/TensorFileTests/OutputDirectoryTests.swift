// A directory output (kswap-pack --peft-dir): a temporary directory beside the destination, registered
// with the files it will hold for removal on a signal, renamed into place on commit, removed on discard or
// deinit; an existing destination replaced only when it holds nothing but the files allowed.

import Foundation
import Glibc
import Testing

@testable import TensorFile

@Suite struct OutputDirectoryTests {
  let scratch = ScratchDirectory()

  func listing(_ directory: String = "") -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: scratch.file(directory))) ?? []).sorted()
  }

  /// Writes both files the way kswap-pack does: each through an atomic writer of its own.
  func fill(_ output: OutputDirectory) throws {
    try TensorWriter.write(
      path: output.path(of: "weights.safetensors"),
      tensors: [(try TensorInfo(name: "w", dtype: .u8, shape: [2]), [1, 2])])
    let config = try OutputFile(path: output.path(of: "config.json"))
    try config.write(Array("{}\n".utf8))
    try config.commit()
  }

  @Test func commitRenamesTheTemporaryDirectoryIntoPlace() throws {
    let output = try OutputDirectory(path: scratch.file("out/"), files: ["weights.safetensors", "config.json"])
    #expect(output.destination == scratch.file("out"))
    let temporary = try #require(output.temporaryPath)
    #expect(temporary.hasPrefix(scratch.path + "/.out.kswap-"))
    #expect(TemporaryFiles.isRegistered(temporary))
    #expect(TemporaryFiles.isRegistered(temporary + "/config.json"))  // before it exists
    try fill(output)
    #expect(TemporaryFiles.isRegistered(temporary + "/weights.safetensors"))
    #expect(listing() == [(temporary as NSString).lastPathComponent])
    try output.commit()
    #expect(listing() == ["out"])
    #expect(listing("out") == ["config.json", "weights.safetensors"])
    #expect(scratch.read("out/config.json") == Array("{}\n".utf8))
    #expect(!TemporaryFiles.isRegistered(temporary))
    #expect(!TemporaryFiles.isRegistered(temporary + "/config.json"))
    #expect(output.temporaryPath == nil)
  }

  @Test func discardAndDeinitLeaveNothing() throws {
    let output = try OutputDirectory(path: scratch.file("out"), files: ["weights.safetensors", "config.json"])
    let temporary = try #require(output.temporaryPath)
    try fill(output)
    output.discard()
    output.discard()
    #expect(listing().isEmpty)
    #expect(!TemporaryFiles.isRegistered(temporary))
    #expect(!TemporaryFiles.isRegistered(temporary + "/config.json"))
    do {
      let abandoned = try OutputDirectory(path: scratch.file("out"), files: ["weights.safetensors", "config.json"])
      try fill(abandoned)
    }
    #expect(listing().isEmpty)
  }

  @Test func anExistingDirectoryIsReplacedOnlyWhenAllowedAndHoldingOnlyThoseFiles() throws {
    try FileManager.default.createDirectory(atPath: scratch.file("out"), withIntermediateDirectories: false)
    scratch.write("out/config.json", Array("old".utf8))
    scratch.write("out/README.md", Array("old".utf8))
    let files = ["weights.safetensors", "config.json"]
    let allowed: Set<String> = ["weights.safetensors", "config.json", "README.md"]

    let refused = try OutputDirectory(path: scratch.file("out"), files: files)
    try fill(refused)
    #expect(throws: TensorFileError(.usage, file: scratch.file("out"), "already exists; not replaced")) {
      try refused.commit()
    }
    #expect(listing() == ["out"])
    #expect(scratch.read("out/config.json") == Array("old".utf8))

    scratch.write("out/notes.txt", Array("mine".utf8))
    let foreign = try OutputDirectory(path: scratch.file("out"), files: files)
    try fill(foreign)
    #expect(throws: TensorFileError.self) { try foreign.commit(replacing: allowed) }
    #expect(listing("out") == ["README.md", "config.json", "notes.txt"])
    #expect(listing() == ["out"])

    try FileManager.default.removeItem(atPath: scratch.file("out/notes.txt"))
    let replacing = try OutputDirectory(path: scratch.file("out"), files: files)
    try fill(replacing)
    try replacing.commit(replacing: allowed)
    #expect(listing() == ["out"])
    #expect(listing("out") == ["config.json", "weights.safetensors"])
    #expect(scratch.read("out/config.json") == Array("{}\n".utf8))
  }

  @Test func checkDestinationNamesWhatIsInTheWay() throws {
    let path = scratch.file("out")
    try OutputDirectory.checkDestination(path, replacing: nil, hint: "use -f")
    scratch.write("out", Array("file".utf8))
    #expect(
      throws: TensorFileError(
        .usage, file: path, "already exists and is not a directory; write the directory elsewhere")
    ) { try OutputDirectory.checkDestination(path, replacing: ["out"], hint: "use -f") }
    try FileManager.default.removeItem(atPath: path)
    try FileManager.default.createDirectory(atPath: path + "/sub", withIntermediateDirectories: true)
    #expect(throws: TensorFileError(.usage, file: path, "already exists; use -f")) {
      try OutputDirectory.checkDestination(path, replacing: nil, hint: "use -f")
    }
    // A sub-directory is never removed, even under an allowed name.
    #expect(
      throws: TensorFileError(
        .usage, file: path,
        "holds 'sub', which is not one of the files it would be replaced with; not replaced, even when forced")
    ) { try OutputDirectory.checkDestination(path, replacing: ["sub"], hint: "use -f") }
  }

  @Test func aMissingParentNamesTheDestination() throws {
    let path = scratch.file("no/such/out")
    #expect(
      throws: TensorFileError(
        .io, file: path, "cannot create a temporary directory beside it: No such file or directory")
    ) { try OutputDirectory(path: path, files: ["a"]) }
  }
}
