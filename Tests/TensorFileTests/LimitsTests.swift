// What a file claims is checked before anything is allocated for it: a JSON nested 100,000 deep, a
// tensor of 10^15 elements, a shape whose element count overflows, from a file and from a pipe.

import Foundation
import Testing

@testable import TensorFile

@Suite struct ClaimLimits {
  @Test func jsonNestedDeeplyIsRefusedAtTheLimit() throws {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(throws: TensorFileError(.invalidJSON, file: "j", "invalid JSON: recursion limit exceeded at byte 128")) {
      try JSON(parsing: deep, file: "j")
    }
    let limit = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
    #expect(throws: Never.self) { try JSON(parsing: limit, file: "j") }
    let objects = String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000)
    #expect((#expect(throws: TensorFileError.self) { try JSON(parsing: objects, file: "j") })?.kind == .invalidJSON)
  }

  /// config.json, preprocessor_config.json and adapter_config.json are read whole: up to 16 MiB, from a
  /// file (refused by its size, before reading) and from a pipe (refused after one byte more).
  @Test func jsonFileIsBoundedBeforeItIsRead() throws {
    let scratch = ScratchDirectory()
    let padded = Array("{}".utf8) + [UInt8](repeating: 0x20, count: JSON.maxFileSize - 2)
    #expect(try JSON(contentsOf: scratch.write("fits.json", padded)) == .object([]))
    let large = scratch.write("large.json", padded + [0x20])
    #expect(
      throws: TensorFileError(.limitExceeded, file: large, "16777217 bytes, over the limit of 16777216 for a JSON file")
    ) {
      try JSON(contentsOf: large)
    }
    let pipe = Pipe(padded + [0x20])
    #expect(
      throws: TensorFileError(
        .limitExceeded, file: pipe.path, "more than 16777216 bytes, over the limit of 16777216 for a JSON file")
    ) { try JSON(contentsOf: pipe.path) }
    let missing = scratch.path + "/missing.json"
    #expect((#expect(throws: TensorFileError.self) { try JSON(contentsOf: missing) })?.kind == .io)
    let broken = scratch.write("broken.json", Array("{\"r\": ".utf8))
    #expect(throws: TensorFileError(.invalidJSON, file: broken, "invalid JSON: EOF while parsing a value at byte 6")) {
      try JSON(contentsOf: broken)
    }
  }

  @Test func petabyteTensorIsRefusedFromAFileAndAPipe() throws {
    let bytes = safetensorsBytes(
      #"{"w":{"dtype":"F32","shape":[1000000000,1000000],"data_offsets":[0,4000000000000000]}}"#, data: [0, 0, 0, 0])
    #expect(readError(bytes)?.kind == .metadataIncompleteBuffer)
    let pipe = Pipe(bytes)
    #expect(throws: TensorFileError.self) {
      let reader = try TensorReader(path: pipe.path)
      try reader.forEachTensor { _, _ in }
    }
  }

  @Test func overflowingShapeIsRefused() {
    let bytes = safetensorsBytes(
      #"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}"#,
      data: [UInt8](repeating: 0, count: 8))
    #expect(readError(bytes)?.kind == .validationOverflow)
  }

  @Test func allocationProbe() {
    #expect(canAllocate(0))
    #expect(canAllocate(1 << 20))
    #expect(!canAllocate(Int.max / 2))
  }
}
