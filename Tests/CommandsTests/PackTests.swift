// kswap-pack in-process: usage errors, the plan (selection, renames, metadata), dtype conversion.

import Foundation
import TensorFile
import Testing
import ToolSupport

@testable import FileCommands

@Suite struct PackTests {
  @Test func contradictoryOptionsAreUsageErrors() {
    for arguments in [
      ["in", "--compress", "--plain"], ["in", "--dtype", "F64"], ["in", "--level", "23"],
      ["in", "--rename", "a"], ["in", "--rename", "(=b"], ["in", "--set-meta", "novalue"], ["in", "--lossy"],
    ] {
      let result = capture { Pack.execute(arguments) }
      #expect(result.status == 64, "\(arguments)")
    }
  }

  @Test func packsSelectsRenamesAndRetags() throws {
    let scratch = ScratchDirectory()
    let input = scratch.file("in.safetensors")
    let output = scratch.file("out.kst")
    try writeSample(input)
    let result = capture {
      Pack.execute([
        input, "--compress", "--select", "w", "--rename", "^w$=weight", "--set-meta", "k=v", "--drop-meta", "format",
        "-o", output, "-q",
      ])
    }
    #expect(result.status == 0, "\(result.standardError)")
    #expect(result.standardError.isEmpty)
    let reader = try TensorReader(path: output)
    #expect(reader.format == .compressed)
    #expect(reader.metadata == ["k": "v"])
    #expect(reader.tensors.map(\.name) == ["weight"])
    #expect(try reader.bytes(of: "weight") == floatBytes([-1, 2, 0, 1]))
    #expect(scratch.listing() == ["in.safetensors", "out.kst"])
  }

  @Test func renameRulesApplyInOrderWithGroups() throws {
    let rules = try ["^blocks\\.([0-9]+)\\.=layer$1.", "mlp=ffn"].map(RenameRule.init)
    #expect(rules.reduce("blocks.11.mlp.fc1.weight") { $1.apply($0) } == "layer11.ffn.fc1.weight")
  }

  @Test func dtypeAppliesToFloatsAndOnlyOptionallyToIntegers() {
    #expect(PackPlan.converts(.f64, convertIntegers: false))
    #expect(!PackPlan.converts(.i64, convertIntegers: false))
    #expect(PackPlan.converts(.i64, convertIntegers: true))
    #expect(PackPlan.converts(.bool, convertIntegers: true))
    #expect(!PackPlan.converts(.f8E4M3, convertIntegers: true))
  }

  @Test func integerConversionIsExactOrRefused() throws {
    let exact = try TensorInfo(name: "labels", dtype: .i32, shape: [3])
    let values: [Int32] = [-2048, 0, 2048]
    let bytes = values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
    let half = try DTypeConversion.convert(bytes, info: exact, to: .f16, lossy: false, file: "x")
    #expect(half == [Float16(-2048), 0, 2048].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
    let inexact: [Int32] = [2049]
    let inexactBytes = inexact.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
    let one = try TensorInfo(name: "labels", dtype: .i32, shape: [1])
    #expect(throws: TensorFileError.self) {
      try DTypeConversion.convert(inexactBytes, info: one, to: .f16, lossy: false, file: "x")
    }
    // Lossy: 2049 is a tie between 2048 and 2050; nearest even picks 2048.
    let rounded = try DTypeConversion.convert(inexactBytes, info: one, to: .f16, lossy: true, file: "x")
    #expect(rounded == withUnsafeBytes(of: Float16(2048).bitPattern.littleEndian, Array.init))
    #expect(
      try DTypeConversion.convert(
        [1, 0], info: TensorInfo(name: "m", dtype: .bool, shape: [2]), to: .bf16, lossy: false, file: "x") == [
          0x80, 0x3F, 0, 0,
        ])
  }

  @Test func floatOverflowIsRefusedUnlessLossy() throws {
    let info = try TensorInfo(name: "w", dtype: .f32, shape: [2])
    let bytes = floatBytes([1, 1e6])
    #expect(throws: TensorFileError.self) {
      try DTypeConversion.convert(bytes, info: info, to: .f16, lossy: false, file: "x")
    }
    let lossy = try DTypeConversion.convert(bytes, info: info, to: .f16, lossy: true, file: "x")
    #expect(DTypeConversion.infinityCount(lossy, dtype: .f16) == 1)
    // Infinities that were there already are not an overflow.
    let infinite = floatBytes([.infinity, 2])
    #expect(try DTypeConversion.convert(infinite, info: info, to: .bf16, lossy: false, file: "x").count == 4)
  }

  @Test func existingOutputIsKeptWithoutForce() throws {
    let scratch = ScratchDirectory()
    let input = scratch.file("in.safetensors")
    let output = scratch.file("out.safetensors")
    try writeSample(input)
    _ = FileManager.default.createFile(atPath: output, contents: Data("keep".utf8))
    let result = capture { Pack.execute([input, "-o", output]) }
    #expect(result.status == 2)
    #expect(result.standardError == "kswap-pack: error: \(output): already exists; use -f to replace it\n")
    #expect(FileManager.default.contents(atPath: output) == Data("keep".utf8))
  }
}
