// Datasets written as tensor files and read back, and files that are not datasets.

import Importers
import TensorFile
import Testing

@Suite struct DatasetFileTests {
  func write(_ tensors: ImportedTensors, to path: String, format: TensorWriter.Format = .safetensors) throws {
    let writer = try TensorWriter(path: path, format: format, metadata: tensors.metadata, tensors: tensors.tensors)
    try tensors.write(to: writer, file: path)
    try writer.finish()
  }

  @Test func roundTripThroughPlainAndCompressedFiles() throws {
    let scratch = Scratch()
    var dataset = try Dataset(
      images: .f32([0, 0.25, 0.5, 1]), channels: 1, height: 2, width: 1, labels: [3, 1],
      classes: [nil, "b", "c", "d"], source: "here", split: "test", file: "d")
    dataset.setStatisticsIfMissing()
    for format in [TensorWriter.Format.safetensors, .compressed] {
      let path = scratch.path + "/d-\(format == .safetensors ? "plain" : "kst")"
      try write(dataset.tensors(extra: ["note": "x"], file: path), to: path, format: format)
      let reader = try TensorReader(path: path)
      #expect(reader.metadata["note"] == "x")
      #expect(reader.info("labels")?.dtype == .i64 && reader.info("images")?.shape == [2, 1, 2, 1])
      #expect(try Dataset(reader: reader) == dataset)
    }
  }

  @Test func notADataset() throws {
    let scratch = Scratch()
    let path = scratch.path + "/w.safetensors"
    let arrays = [(name: "weight", array: NumpyArray(kind: .float, itemSize: 4, shape: [1], data: [0, 0, 0, 0]))]
    try write(ImportedTensors(arrays: arrays, file: path), to: path)
    #expect(throws: ImportError(.invalidDataset, path, "not a dataset: it needs tensors \"images\" and \"labels\"")) {
      try Dataset(reader: TensorReader(path: path))
    }
  }

  @Test func wrongLabelDtype() throws {
    let scratch = Scratch()
    let path = scratch.path + "/l.safetensors"
    let arrays = [
      (name: "images", array: NumpyArray(kind: .uint, itemSize: 1, shape: [1, 1, 1, 1], data: [0])),
      (name: "labels", array: NumpyArray(kind: .int, itemSize: 4, shape: [1], data: [0, 0, 0, 0])),
    ]
    try write(ImportedTensors(arrays: arrays, file: path), to: path)
    #expect(throws: ImportError(.invalidDataset, path, "tensor labels must be I64 (N), found I32 [1]")) {
      try Dataset(reader: TensorReader(path: path))
    }
  }

  @Test func extraTensor() throws {
    let scratch = Scratch()
    let path = scratch.path + "/e.safetensors"
    let byte = NumpyArray(kind: .uint, itemSize: 1, shape: [1, 1, 1, 1], data: [0])
    let label = NumpyArray(kind: .int, itemSize: 8, shape: [1], data: [UInt8](repeating: 0, count: 8))
    try write(ImportedTensors(arrays: [("images", byte), ("labels", label), ("extra", byte)], file: path), to: path)
    #expect(
      throws: ImportError(.invalidDataset, path, "not a dataset: unexpected tensor \"extra\" besides images and labels")
    ) {
      try Dataset(reader: TensorReader(path: path))
    }
  }

  @Test func labelBeyondTheClassNames() throws {
    let scratch = Scratch()
    let path = scratch.path + "/c.safetensors"
    let dataset = try Dataset(images: .u8([0]), channels: 1, height: 1, width: 1, labels: [1], file: path)
    var tensors = try dataset.tensors(file: path)
    var metadata = tensors.metadata
    metadata["classes"] = "[\"only\"]"
    tensors = ImportedTensors(
      metadata: metadata, tensors: try tensors.tensors.map { ($0, try tensors.bytes(of: $0.name, file: path)) })
    try write(tensors, to: path)
    #expect(throws: ImportError(.invalidDataset, path, "label 1 has no class name (1 classes)")) {
      try Dataset(reader: TensorReader(path: path))
    }
  }

  @Test func duplicateArrayNames() {
    let byte = NumpyArray(kind: .uint, itemSize: 1, shape: [1], data: [0])
    #expect(throws: ImportError(.malformed, "n", "two arrays are named a")) {
      try ImportedTensors(arrays: [("a", byte), ("a", byte)], file: "n")
    }
  }
}
