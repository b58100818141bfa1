// The one atomic writer: a temporary file beside the destination, registered for removal on a
// signal while it exists, renamed into place on commit, removed on discard or deinit.

import Foundation
import Glibc
import Testing

@testable import TensorFile

@Suite struct OutputFileTests {
  let scratch = ScratchDirectory()

  func listing() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: scratch.path)) ?? []).sorted()
  }

  @Test func commitRenamesTheTemporaryFileIntoPlace() throws {
    let path = scratch.file("out.bin")
    let output = try OutputFile(path: path)
    let temporary = try #require(output.temporaryPath)
    #expect(temporary.hasPrefix(scratch.path + "/.out.bin.kswap-"))
    #expect(temporary.count == (scratch.path + "/.out.bin.kswap-").count + 6)
    #expect(TemporaryFiles.isRegistered(temporary))
    try output.write(Array("payload".utf8))
    #expect(!FileManager.default.fileExists(atPath: path))
    try output.commit()
    #expect(scratch.read("out.bin") == Array("payload".utf8))
    #expect(listing() == ["out.bin"])
    #expect(!TemporaryFiles.isRegistered(temporary))
    #expect(output.temporaryPath == nil)
  }

  @Test func newFilesGetTheUsualPermissions() throws {
    let mask = umask(0o022)
    defer { umask(mask) }
    let output = try OutputFile(path: scratch.file("out.bin"))
    try output.commit()
    var info = stat()
    #expect(stat(scratch.file("out.bin"), &info) == 0)
    #expect(info.st_mode & 0o777 == 0o644)
  }

  @Test func discardAndDeinitKeepTheOldFile() throws {
    scratch.write("out.bin", Array("old".utf8))
    let output = try OutputFile(path: scratch.file("out.bin"))
    let temporary = try #require(output.temporaryPath)
    try output.write(Array("half of the new".utf8))
    output.discard()
    output.discard()
    #expect(!TemporaryFiles.isRegistered(temporary))
    #expect(listing() == ["out.bin"])
    do {
      let abandoned = try OutputFile(path: scratch.file("out.bin"))
      try abandoned.write(Array("new".utf8))
    }
    #expect(scratch.read("out.bin") == Array("old".utf8))
    #expect(listing() == ["out.bin"])
  }

  @Test func aFailedRenameRemovesTheTemporaryFile() throws {
    let path = scratch.file("out.bin")
    let output = try OutputFile(path: path)
    let temporary = try #require(output.temporaryPath)
    // A directory that appears at the destination meanwhile cannot be replaced by a file.
    try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
    #expect(throws: TensorFileError.self) { try output.commit() }
    #expect(listing() == ["out.bin"])
    #expect(!TemporaryFiles.isRegistered(temporary))
  }

  @Test func directoriesAreRefusedAndDevicesWrittenDirectly() throws {
    #expect(throws: TensorFileError.self) { try OutputFile(path: scratch.path) }
    let device = try OutputFile(path: "/dev/null")
    #expect(device.temporaryPath == nil)
    try device.write(Array("gone".utf8))
    try device.commit()
    #expect(mkfifo(scratch.file("fifo"), 0o600) == 0)
    let reader = open(scratch.file("fifo"), O_RDONLY | O_NONBLOCK)
    defer { close(reader) }
    let fifo = try OutputFile(path: scratch.file("fifo"))
    #expect(fifo.temporaryPath == nil)
    try fifo.write(Array("through".utf8))
    var buffer = [UInt8](repeating: 0, count: 16)
    #expect(read(reader, &buffer, 16) == 7)
    try fifo.commit()
    #expect(listing() == ["fifo"])
  }

  @Test func aMissingDirectoryNamesTheDestination() throws {
    let path = scratch.file("no/such/out.bin")
    do {
      _ = try OutputFile(path: path)
      Issue.record("expected an error")
    } catch let error as TensorFileError {
      #expect(error.kind == .io)
      #expect(error.description == "\(path): cannot create a temporary file beside it: No such file or directory")
    }
  }

  @Test func writersUseTheSameTemporaryFiles() throws {
    let path = scratch.file("model.safetensors")
    let writer = try TensorWriter(path: path, tensors: [try TensorInfo(name: "w", dtype: .f32, shape: [1])])
    let temporary = try #require(writer.temporaryPath)
    #expect(temporary.hasPrefix(scratch.path + "/.model.safetensors.kswap-"))
    #expect(TemporaryFiles.isRegistered(temporary))
    writer.abort()
    #expect(!TemporaryFiles.isRegistered(temporary))
    #expect(listing().isEmpty)
  }
}
