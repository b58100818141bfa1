// The writer: the reference's golden bytes, its tensor order, atomic replacement, streaming to a
// pipe, and a seeded round trip over every dtype and many shapes (scalars and zero-size included).

import Foundation
import SeededRandom
import Testing

@testable import TensorFile

@Suite struct SafetensorsWrites {
  let scratch = ScratchDirectory()

  @Test func goldenSerialization() throws {
    // test_serialization, as safetensors 0.8.0 writes it (no padding needed: the JSON is 64 bytes).
    let data = try FloatConversion.bytes(from: [0, 1, 2, 3, 4, 5], dtype: .f32)
    let path = scratch.file("golden.safetensors")
    try TensorWriter.write(
      path: path, tensors: [(try TensorInfo(name: "attn.0", dtype: .f32, shape: [1, 2, 3]), data)])
    #expect(
      scratch.read("golden.safetensors") == [
        64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101,
        34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34,
        100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0,
        0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
      ])
  }

  @Test func goldenEmpty() throws {
    // test_empty: "{}" padded with spaces to 8; and with {"framework":"pt"} metadata to 40.
    try TensorWriter.write(path: scratch.file("empty"), tensors: [])
    #expect(scratch.read("empty") == [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32])
    try TensorWriter.write(path: scratch.file("meta"), metadata: ["framework": "pt"], tensors: [])
    #expect(
      scratch.read("meta") == [40, 0, 0, 0, 0, 0, 0, 0] + Array(#"{"__metadata__":{"framework":"pt"}}"#.utf8) + [
        32, 32, 32, 32, 32,
      ])
  }

  @Test func referenceOrderAlignsEveryTensor() throws {
    let specs: [(String, DType, [Int])] = [
      ("b", .u8, [3]), ("a", .f16, [1]), ("c", .f64, [1]), ("d", .i32, [1]), ("e", .bool, [1]),
    ]
    let tensors = try specs.map {
      (
        try TensorInfo(name: $0.0, dtype: $0.1, shape: $0.2),
        [UInt8](repeating: 1, count: $0.1.byteCount(elements: elementCount(of: $0.2)!)!)
      )
    }
    let path = scratch.file("order.safetensors")
    try TensorWriter.write(path: path, tensors: tensors)
    let reader = try TensorReader(path: path)
    #expect(reader.tensors.map(\.name) == ["c", "d", "a", "b", "e"])
    let headerLength = Int(readLittleEndian(scratch.read("order.safetensors")[0..<8]))
    #expect(headerLength % 8 == 0)
  }

  @Test func writesOutOfDeclaredOrderAreRefused() throws {
    let writer = try TensorWriter(
      path: scratch.file("x"),
      tensors: [
        try TensorInfo(name: "a", dtype: .f32, shape: [1]), try TensorInfo(name: "b", dtype: .f32, shape: [1]),
      ])
    #expect(throws: TensorFileError.self) { try writer.write("b", bytes: [0, 0, 0, 0]) }
    #expect(throws: TensorFileError.self) { try writer.write("a", bytes: [0, 0, 0]) }
    #expect(throws: TensorFileError.self) { try writer.finish() }
    #expect(throws: TensorFileError.self) {
      try TensorWriter(
        path: scratch.file("y"),
        tensors: [try TensorInfo(name: "a", dtype: .u8, shape: []), try TensorInfo(name: "a", dtype: .u8, shape: [])])
    }
  }

  @Test func unfinishedWriteLeavesTheTargetUntouched() throws {
    let target = scratch.write("keep.safetensors", Array("precious".utf8))
    do {
      let writer = try TensorWriter(path: target, tensors: [try TensorInfo(name: "a", dtype: .u8, shape: [4])])
      try writer.write("a", bytes: [1, 2, 3, 4])
      writer.abort()
    }
    do {
      // Released without finish: same outcome.
      let writer = try TensorWriter(path: target, tensors: [try TensorInfo(name: "a", dtype: .u8, shape: [4])])
      _ = writer
    }
    #expect(scratch.read("keep.safetensors") == Array("precious".utf8))
    #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["keep.safetensors"])
  }

  @Test func finishReplacesTheTarget() throws {
    let target = scratch.write("out.safetensors", Array("old".utf8))
    try TensorWriter.write(path: target, tensors: [(try TensorInfo(name: "a", dtype: .u8, shape: [1]), [9])])
    #expect(try TensorReader(path: target).bytes(of: "a") == [9])
    #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["out.safetensors"])
  }

  @Test func streamsToAPipeAndReadsFromOne() throws {
    let a = try TensorInfo(name: "a", dtype: .f32, shape: [2])
    let b = try TensorInfo(name: "b", dtype: .bf16, shape: [3])
    let bytes = try collectFromPipe { path in
      let writer = try TensorWriter(path: path, metadata: ["k": "v"], tensors: [b, a], order: .asGiven)
      try writer.write("b", bytes: [1, 2, 3, 4, 5, 6])
      try writer.write("a", bytes: [7, 8, 9, 10, 11, 12, 13, 14])
      try writer.finish()
    }
    let pipe = Pipe(bytes)
    let reader = try TensorReader(path: pipe.path)
    #expect(!reader.isSeekable)
    #expect(reader.metadata == ["k": "v"])
    var seen: [String: [UInt8]] = [:]
    try reader.forEachTensor { info, data in seen[info.name] = data }
    #expect(seen == ["b": [1, 2, 3, 4, 5, 6], "a": [7, 8, 9, 10, 11, 12, 13, 14]])
    #expect(throws: TensorFileError.self) { try reader.bytes(of: "a") }
    #expect(throws: TensorFileError.self) { try reader.forEachTensor { _, _ in } }
  }

  @Test func pipeWithTrailingOrMissingBytesIsRefused() throws {
    let good = safetensorsBytes(#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#, data: [1, 2])
    for (bytes, kind) in [
      (good + [0], TensorFileError.Kind.metadataIncompleteBuffer), (Array(good.dropLast()), .truncated),
    ] {
      let pipe = Pipe(bytes)
      let reader = try TensorReader(path: pipe.path)
      defer { withExtendedLifetime(pipe) {} }
      #expect(throws: TensorFileError.self) {
        do { try reader.forEachTensor { _, _ in } } catch let error as TensorFileError {
          #expect(error.kind == kind)
          throw error
        }
      }
    }
  }

  @Test(arguments: [TensorWriter.Format.safetensors, .compressed])
  func seededRoundTripOverDtypesAndShapes(format: TensorWriter.Format) throws {
    var generator = SeededGenerator(seed: 20_260_530)
    for round in 0..<20 {
      var tensors: [(info: TensorInfo, bytes: [UInt8])] = []
      for index in 0..<Int.random(in: 0...8, using: &generator) {
        let dtype = DType.allCases.randomElement(using: &generator)!
        let rank = Int.random(in: 0...3, using: &generator)
        var shape = (0..<rank).map { _ in Int.random(in: 0...7, using: &generator) }
        if dtype.isSubByte, let count = elementCount(of: shape), dtype.byteCount(elements: count) == nil { shape = [4] }
        let info = try TensorInfo(name: "t\(index).\(dtype.name)", dtype: dtype, shape: shape)
        tensors.append((info, randomBytes(info.byteCount, using: &generator)))
      }
      let metadata = round % 2 == 0 ? [:] : ["round": "\(round)", "é": "\u{1F600}"]
      let path = scratch.file("round\(round)")
      try TensorWriter.write(path: path, format: format, metadata: metadata, tensors: tensors)
      let reader = try TensorReader(path: path)
      #expect(reader.metadata == metadata)
      #expect(Set(reader.tensors.map(\.name)) == Set(tensors.map(\.info.name)))
      for (info, bytes) in tensors {
        #expect(reader.info(info.name)?.shape == info.shape)
        #expect(reader.info(info.name)?.dtype == info.dtype)
        #expect(try reader.bytes(of: info.name) == bytes)
        if format == .safetensors {
          // Aligned: every tensor starts at a multiple of its element size.
          let width = info.dtype.byteWidth ?? 1
          let offset = reader.tensors.prefix { $0.name != info.name }.reduce(0) { $0 + $1.byteCount }
          #expect(offset % width == 0)
        }
      }
    }
  }
}
