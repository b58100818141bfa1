// Inputs with which the fuzz targets (Scripts/fuzz, Benchmarks/fuzz.md) crashed a reader, kept as tests
// that need no fuzzer: each is now refused with an error. The fuzzer's own inputs are in the target's
// seeds (Fuzz/Corpus/TARGET/regression-*), so every fuzz run replays them too.

import Foundation
import TensorFile
import Testing

@testable import Swap

@Suite struct FuzzRegressionTests {
  /// dataset-file target: DatasetFile names a class for every label up to the largest, so a label of
  /// 2^62 asked for an array of 2^62 names (an allocation failure) and one of Int64.max overflowed
  /// counting them (a trap). Labels are now bounded as kswap-pack bounds them.
  @Test func hugeLabelsAreRefused() throws {
    let directory = NSTemporaryDirectory() + "kswap-fuzz-regression-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/d.safetensors"
    for label in [Int64.max, 1 << 62, 1 << 24] {
      let images = try TensorInfo(name: "images", dtype: .u8, shape: [1, 1, 1, 1])
      let labels = try TensorInfo(name: "labels", dtype: .i64, shape: [1])
      let bytes = withUnsafeBytes(of: label.littleEndian) { Array($0) }
      try TensorWriter.write(path: path, tensors: [(images, [0]), (labels, bytes)])
      let error = #expect(throws: SwapInputError.self) { try DatasetFile(path: path) }
      #expect(error?.description == "\(path): label \(label) is too large (labels are below 16777216)")
    }
  }
}
