// What a file claims is checked before anything is allocated for it: a JSON nested 100,000 deep, a
// tensor of 10^15 elements, a shape whose element count overflows, from a file and from a pipe.

import Foundation
import Testing

@testable import TensorFile

@Suite struct ClaimLimits {
  @Test func jsonNestedDeeplyIsRefusedAtTheLimit() throws {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(throws: JSONSyntaxError.self) { try JSON(parsing: deep) }
    do {
      _ = try JSON(parsing: deep)
    } catch let error as JSONSyntaxError {
      #expect(error.message == "recursion limit exceeded at byte 128")
    }
    let limit = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
    #expect(throws: Never.self) { try JSON(parsing: limit) }
    let objects = String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000)
    #expect(throws: JSONSyntaxError.self) { try JSON(parsing: objects) }
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
