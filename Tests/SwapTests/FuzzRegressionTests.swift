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
  /// counting them (a trap). Labels are now bounded as kswap-pack bounds them (65,536 classes), and so
  /// are the class names a file gives.
  @Test func hugeLabelsAreRefused() throws {
    try withScratchFile { path in
      for label in [Int64.max, 1 << 62, 1 << 24, 1 << 16] {
        try writeDataset(path, imageShape: [1, 1, 1, 1], labels: [label])
        #expect(throws: SwapError(.limitExceeded, file: path, "label \(label) is too large (labels are below 65536)")) {
          try DatasetFile(path: path)
        }
      }
      let names = "[" + Array(repeating: "null", count: 65537).joined(separator: ",") + "]"
      try writeDataset(path, imageShape: [1, 1, 1, 1], labels: [0], classes: names)
      #expect(
        throws: SwapError(
          .limitExceeded, file: path, "metadata 'classes' names 65537 classes, more than the limit of 65536")
      ) { try DatasetFile(path: path) }
    }
  }

  /// dataset-file target: images with no pixels (a height or width of 0) trapped when grey images
  /// were repeated to the model's channels ("Stride size must not be zero"). They are refused now.
  @Test func imagesWithoutPixelsAreRefused() throws {
    try withScratchFile { path in
      for shape in [[1, 1, 0, 3], [2, 1, 3, 0], [1, 0, 2, 2]] {
        try writeDataset(path, imageShape: shape, labels: Array(repeating: 0, count: shape[0]))
        #expect(
          throws: SwapError(
            .invalidDataset, file: path, "tensor 'images' has shape \(shape); an image needs C, H and W of 1 or more")
        ) { try DatasetFile(path: path, mean: [0, 0, 0], std: [1, 1, 1]) }
      }
    }
  }

  func withScratchFile(_ body: (String) throws -> Void) throws {
    let directory = NSTemporaryDirectory() + "kswap-fuzz-regression-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try body(directory + "/d.safetensors")
  }

  /// A dataset file of U8 zero images of `imageShape` (N, C, H, W), I64 `labels` and, where given, the
  /// metadata's `classes` text.
  func writeDataset(_ path: String, imageShape: [Int], labels: [Int64], classes: String? = nil) throws {
    let images = try TensorInfo(name: "images", dtype: .u8, shape: imageShape)
    let labelInfo = try TensorInfo(name: "labels", dtype: .i64, shape: [labels.count])
    let labelBytes = labels.flatMap { label in withUnsafeBytes(of: label.littleEndian) { Array($0) } }
    try TensorWriter.write(
      path: path, metadata: classes.map { ["classes": $0] } ?? [:],
      tensors: [(images, [UInt8](repeating: 0, count: images.byteCount)), (labelInfo, labelBytes)])
  }
}
