// kswap-inspect in-process: the report's fields, statistics, and errors as exit statuses.

import Foundation
import TensorFile
import Testing
import ToolSupport

@testable import InspectCommand

func floatBytes(_ values: [Float]) -> [UInt8] {
  values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
}

/// A small plain file: `w` (2, 2) F32 and `labels` (3) I64, with metadata.
func writeSample(_ path: String) throws {
  let labels: [Int64] = [0, 7, -2]
  try TensorWriter.write(
    path: path, metadata: ["format": "pt"],
    tensors: [
      (try TensorInfo(name: "w", dtype: .f32, shape: [2, 2]), floatBytes([-1, 2, 0, 1])),
      (
        try TensorInfo(name: "labels", dtype: .i64, shape: [3]),
        labels.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
      ),
    ])
}

@Suite struct InspectTests {
  @Test func jsonReportsEveryField() throws {
    let scratch = ScratchDirectory()
    let path = scratch.file("sample.safetensors")
    try writeSample(path)
    let result = capture { Inspect.execute([path, "--json", "--stats"]) }
    #expect(result.status == 0)
    let report = try #require(try JSONSerialization.jsonObject(with: result.standardOutput) as? [String: Any])
    #expect(report["version"] as? Int == 1)
    #expect(report["metadata"] as? [String: String] == ["format": "pt"])
    let tensors = try #require(report["tensors"] as? [[String: Any]])
    let w = try #require(tensors.first { $0["name"] as? String == "w" })
    #expect(w["shape"] as? [Int] == [2, 2])
    let stats = try #require(w["stats"] as? [String: Any])
    #expect(stats["mean"] as? Double == 0.5)
    #expect(stats["zeros"] as? Int == 1)
    let totals = try #require(report["totals"] as? [String: Any])
    #expect(totals["bytes"] as? Int == 16 + 24)
  }

  @Test func malformedFileIsExitTwoNamingTheFile() throws {
    let scratch = ScratchDirectory()
    let path = scratch.file("broken.safetensors")
    _ = FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]))
    let result = capture { Inspect.execute([path]) }
    #expect(result.status == 2)
    #expect(result.standardError.hasPrefix("kswap-inspect: error: \(path)"))
    #expect(result.standardOutput.isEmpty)
  }

  @Test func terminalStandardInputIsRefused() {
    let result = capture(stdinIsTerminal: true) { Inspect.execute(["-"]) }
    #expect(result.status == 2)
    #expect(result.standardError.contains("refusing to read binary data from a terminal"))
  }
}

@Suite struct TensorStatisticsTests {
  @Test func nanAndInfinityAreCountedAndLeftOut() {
    let statistics = TensorStatistics(bytes: floatBytes([1, .nan, 3, .infinity, -.infinity, 0]), dtype: .f32)
    #expect(statistics.nan == 1 && statistics.inf == 2 && statistics.zeros == 1)
    #expect(statistics.min == 0 && statistics.max == 3)
    #expect(statistics.mean == 4.0 / 3.0)
    #expect(statistics.l2 == 10.0.squareRoot())
  }

  @Test func varianceStaysAccurateFarFromZero() {
    // Values 1e8 + {0, 1, 2, 3}: a naive sum of squares loses the spread entirely in Double.
    let values: [Double] = [0, 1, 2, 3].map { 1e8 + $0 }
    let bytes = values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    let statistics = TensorStatistics(bytes: bytes, dtype: .f64)
    #expect(abs((statistics.standardDeviation ?? 0) - 1.25.squareRoot()) < 1e-9)
  }

  @Test func halfPrecisionAndIntegersDecode() {
    let half = [Float16(1.5), Float16(-2)].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    #expect(TensorStatistics(bytes: half, dtype: .f16).min == -2)
    let bf16: [UInt8] = [0x80, 0x3F, 0x00, 0xC0]  // 1.0, -2.0
    #expect(TensorStatistics(bytes: bf16, dtype: .bf16).max == 1)
    #expect(TensorStatistics(bytes: [0xFF, 0x01], dtype: .i8).min == -1)
    #expect(!TensorStatistics(bytes: [0x38], dtype: .f8E4M3).decoded)
  }

  @Test func emptyTensorHasNoValues() {
    let statistics = TensorStatistics(bytes: [], dtype: .f32)
    #expect(statistics.mean == nil && statistics.standardDeviation == nil && statistics.l2 == nil)
  }
}
