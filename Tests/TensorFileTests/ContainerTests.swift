// The compressed container (.kst): the spec's worked example byte for byte, round trips through
// files and pipes, random access, and every corruption a reader must refuse (Formats/tensor-file.md §7).

import Foundation
import SeededRandom
import Testing

@testable import TensorFile

/// The worked example of Formats/tensor-file.md §8.
let workedExample: [UInt8] =
  [
    0x89, 0x4b, 0x53, 0x54, 0x0d, 0x0a, 0x1a, 0x0a, 0x01, 0x00, 0x00, 0x00, 0x79, 0x00, 0x00, 0x00,
  ]
  + Array(
    #"{"__metadata__":{"format":"pt"},"tensors":[{"name":"w","dtype":"F32","shape":[2]},{"name":"n","dtype":"U8","shape":[3]}]}"#
      .utf8) + [
    0x08, 0x3d, 0xb0, 0xf3, 0x23, 0x3b, 0x56, 0xb3,
    0x4b, 0x53, 0x54, 0x52, 0x00, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0,
    0xef, 0x22, 0x1b, 0x06, 0xca, 0x68, 0xba, 0x54, 0x02, 0x04, 0x01, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x7f, 0x80,
    0x4b, 0x53, 0x54, 0x52, 0x01, 0x00, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0,
    0xa5, 0xe5, 0x4e, 0x0c, 0xee, 0x13, 0x3e, 0x74, 0x00, 0x01, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0, 0, 0, 0, 0, 0, 0,
    0x01, 0x02, 0x03,
    0x91, 0, 0, 0, 0, 0, 0, 0, 0x68, 0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0,
    0xef, 0x22, 0x1b, 0x06, 0xca, 0x68, 0xba, 0x54,
    0xf9, 0, 0, 0, 0, 0, 0, 0, 0x33, 0, 0, 0, 0, 0, 0, 0, 0x03, 0, 0, 0, 0, 0, 0, 0,
    0xa5, 0xe5, 0x4e, 0x0c, 0xee, 0x13, 0x3e, 0x74,
    0x2c, 0x01, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0xaf, 0x59, 0x8a, 0xd1, 0x41, 0x20, 0xec, 0x0c,
    0x89, 0x4b, 0x53, 0x54, 0x49, 0x44, 0x58, 0x0a,
  ]

/// Writes `tensors` as a .kst file in memory.
func kstBytes(_ tensors: [(info: TensorInfo, bytes: [UInt8])], metadata: [String: String] = [:]) throws -> [UInt8] {
  let scratch = ScratchDirectory()
  try TensorWriter.write(path: scratch.file("x.kst"), format: .compressed, metadata: metadata, tensors: tensors)
  return scratch.read("x.kst")
}

/// Opens bytes as a file (or a pipe) and reads every tensor; returns the error, nil on success.
func kstError(_ bytes: [UInt8], pipe: Bool = false) -> TensorFileError? {
  let scratch = ScratchDirectory()
  let fifo = pipe ? Pipe(bytes) : nil
  defer { withExtendedLifetime(fifo) {} }
  do {
    let reader = try TensorReader(path: fifo?.path ?? scratch.write("x.kst", bytes))
    try reader.forEachTensor { _, _ in }
    return nil
  } catch let error as TensorFileError {
    return error
  } catch {
    return TensorFileError(.io, file: "?", "unexpected \(error)")
  }
}

/// A smooth F32 weight-like tensor (compresses), deterministic.
func weights(_ name: String, rows: Int, columns: Int, seed: UInt64) throws -> (info: TensorInfo, bytes: [UInt8]) {
  var generator = SeededGenerator(seed: seed)
  let values = (0..<rows * columns).map { _ in Float.random(in: -0.05...0.05, using: &generator) }
  return (
    try TensorInfo(name: name, dtype: .f32, shape: [rows, columns]),
    try FloatConversion.bytes(from: values, dtype: .f32)
  )
}

@Suite struct Container {
  @Test func workedExampleBytes() throws {
    let w = try TensorInfo(name: "w", dtype: .f32, shape: [2])
    let n = try TensorInfo(name: "n", dtype: .u8, shape: [3])
    let written = try kstBytes(
      [(n, [1, 2, 3]), (w, try FloatConversion.bytes(from: [1, -2], dtype: .f32))], metadata: ["format": "pt"])
    #expect(written == workedExample)
    let scratch = ScratchDirectory()
    let reader = try TensorReader(path: scratch.write("example.kst", workedExample))
    #expect(reader.format == .compressed)
    #expect(reader.metadata == ["format": "pt"])
    #expect(reader.tensors.map(\.name) == ["w", "n"])
    #expect(reader.tensors.map(\.storedByteCount) == [104, 51])
    #expect(reader.tensors.allSatisfy { $0.codec == .zstdPlanes })
    #expect(try reader.floats(of: "w") == [1, -2])
    #expect(try reader.bytes(of: "n") == [1, 2, 3])
  }

  @Test func compressesWeightsAndRoundTripsThroughAPipe() throws {
    let ids: [UInt8] = (0..<1000).flatMap { (i: Int) -> [UInt8] in littleEndianBytes(UInt64(i % 7)) }
    var tensors: [(info: TensorInfo, bytes: [UInt8])] = [
      try weights("a", rows: 64, columns: 96, seed: 1), try weights("b", rows: 128, columns: 32, seed: 2),
    ]
    tensors.append((try TensorInfo(name: "ids", dtype: .i64, shape: [1000]), ids))
    let file = try kstBytes(tensors, metadata: ["k": "v"])
    #expect(file.count < tensors.reduce(0) { $0 + $1.bytes.count } * 9 / 10)
    let pipe = Pipe(file)
    let reader = try TensorReader(path: pipe.path)
    #expect(reader.format == .compressed && !reader.isSeekable)
    #expect(reader.tensors.allSatisfy { $0.storedByteCount == nil })
    var seen: [String: [UInt8]] = [:]
    try reader.forEachTensor { info, bytes in
      #expect(info.storedByteCount != nil)
      seen[info.name] = bytes
    }
    #expect(seen == Dictionary(uniqueKeysWithValues: tensors.map { ($0.info.name, $0.bytes) }))
    #expect(reader.tensors.allSatisfy { $0.storedByteCount != nil })
    #expect(throws: TensorFileError.self) { try reader.bytes(of: "a") }
    #expect(throws: TensorFileError.self) { try reader.forEachTensor { _, _ in } }
  }

  @Test(arguments: [1, 3, 9, 19])
  func everyLevelRoundTrips(level: Int) throws {
    var tensors = [try weights("w", rows: 40, columns: 30, seed: 12)]
    let values = try FloatConversion.floats(from: tensors[0].bytes, dtype: .f32)
    for dtype in [DType.bf16, .f16, .f64] {
      tensors.append(
        (
          try TensorInfo(name: dtype.name, dtype: dtype, shape: [300]),
          try FloatConversion.bytes(from: Array(values.prefix(300)), dtype: dtype)
        ))
    }
    // C64: pairs of F32.
    tensors.append(
      (
        try TensorInfo(name: "C64", dtype: .c64, shape: [300]),
        try FloatConversion.bytes(from: Array(values.prefix(600)), dtype: .f32)
      ))
    let scratch = ScratchDirectory()
    try TensorWriter.write(path: scratch.file("l.kst"), format: .compressed(level: level), tensors: tensors)
    let reader = try TensorReader(path: scratch.file("l.kst"))
    for (info, bytes) in tensors { #expect(try reader.bytes(of: info.name) == bytes, "\(info.name) at level \(level)") }
  }

  @Test func writesToAPipe() throws {
    let tensor = try weights("w", rows: 16, columns: 16, seed: 3)
    let bytes = try collectFromPipe { path in
      let writer = try TensorWriter(path: path, format: .compressed(level: 5), tensors: [tensor.info])
      try writer.write("w", bytes: tensor.bytes)
      try writer.finish()
    }
    let scratch = ScratchDirectory()
    #expect(try TensorReader(path: scratch.write("p.kst", bytes)).bytes(of: "w") == tensor.bytes)
  }

  @Test func randomAccessDoesNotTouchOtherTensors() throws {
    let tensors = [try weights("a", rows: 32, columns: 32, seed: 4), try weights("b", rows: 32, columns: 32, seed: 5)]
    var file = try kstBytes(tensors)
    let scratch = ScratchDirectory()
    let reader0 = try TensorReader(path: scratch.write("good.kst", file))
    let recordOfA = reader0.tensors[0].storedByteCount!
    let start = 16 + Int(readLittleEndian(file[12..<16])) + 8
    file[start + recordOfA - 1] ^= 0xFF  // damage the last byte of a's record
    let reader = try TensorReader(path: scratch.write("bad.kst", file))
    #expect(try reader.bytes(of: "b") == tensors[1].bytes)
    #expect(throws: TensorFileError.self) { try reader.bytes(of: "a") }
  }

  @Test func truncationIsRefused() throws {
    let file = try kstBytes([try weights("a", rows: 8, columns: 8, seed: 6)])
    for cut in [1, 8, 33, file.count / 2, file.count - 20] {
      let short = Array(file.dropLast(cut))
      #expect(kstError(short)?.kind == .truncated, "cut \(cut)")
      #expect(kstError(short, pipe: true)?.kind == .truncated, "pipe, cut \(cut)")
    }
  }

  @Test func bytesAfterTheTrailerAreRefused() throws {
    let file = try kstBytes([try weights("a", rows: 8, columns: 8, seed: 7)])
    #expect(kstError(file + [0], pipe: true)?.kind == .trailingData)
    #expect(kstError(file + [0]) != nil)
  }

  @Test func damagedBytesAreFoundWherever() throws {
    let u: (info: TensorInfo, bytes: [UInt8]) = (
      try TensorInfo(name: "u", dtype: .u8, shape: [300]), [UInt8](repeating: 9, count: 300)
    )
    let file = try kstBytes([try weights("a", rows: 24, columns: 24, seed: 8), u])
    // A single-byte flip anywhere (every 13th byte here: preamble, header, checksum, records,
    // index, trailer), in a file or a pipe, is refused.
    for position in stride(from: 0, to: file.count, by: 13) {
      var damaged = file
      damaged[position] ^= 0x40
      #expect(kstError(damaged) != nil, "flip at \(position)")
      if position % 3 == 0 { #expect(kstError(damaged, pipe: true) != nil, "pipe flip at \(position)") }
    }
  }

  @Test func unknownVersionIsUnsupported() throws {
    var file = workedExample
    file[8] = 2
    #expect(kstError(file)?.kind == .unsupported)
  }

  @Test func headerLimitIsChecked() throws {
    var file = workedExample
    file[12..<16] = [0x01, 0xe1, 0xf5, 0x05]  // 100,000,001
    #expect(kstError(file)?.kind == .headerTooLarge)
  }

  /// Rebuilds a file around hand-made records, with a correct index and trailer, so that a reader
  /// can only object to the record itself.
  func fileAround(header: [UInt8], records: [[UInt8]], rawSizes: [Int], checksums: [UInt64]) -> [UInt8] {
    var file =
      ContainerFormat.magic + littleEndianBytes(UInt32(1)) + littleEndianBytes(UInt32(header.count)) + header
      + littleEndianBytes(XXH64.hash(header))
    var index: [UInt8] = []
    for (i, record) in records.enumerated() {
      index +=
        littleEndianBytes(UInt64(file.count)) + littleEndianBytes(UInt64(record.count))
        + littleEndianBytes(UInt64(rawSizes[i])) + littleEndianBytes(checksums[i])
      file += record
    }
    let indexOffset = file.count
    return file + index + littleEndianBytes(UInt64(indexOffset)) + littleEndianBytes(UInt64(records.count))
      + littleEndianBytes(XXH64.hash(index)) + ContainerFormat.trailerMagic
  }

  func record(
    ordinal: UInt32, raw: [UInt8], transform: UInt8, rotation: UInt8 = 0, lane: UInt8,
    planes: [(encoding: UInt8, bytes: [UInt8])]
  ) -> [UInt8] {
    var bytes =
      ContainerFormat.recordMagic + littleEndianBytes(ordinal) + littleEndianBytes(UInt64(raw.count))
      + littleEndianBytes(XXH64.hash(raw)) + [transform, lane, rotation, 0, 0, 0, 0, 0]
    for plane in planes {
      bytes += [plane.encoding] + [UInt8](repeating: 0, count: 7) + littleEndianBytes(UInt64(plane.bytes.count))
    }
    for plane in planes { bytes += plane.bytes }
    return bytes
  }

  @Test func frameWhoseSizeDisagreesWithTheIndex() throws {
    let header = Array(#"{"__metadata__":{},"tensors":[{"name":"z","dtype":"U8","shape":[256]}]}"#.utf8)
    let raw = [UInt8](repeating: 0, count: 256)
    let shortFrame = ZstdCodec().encode([UInt8](repeating: 0, count: 128), level: 3, float: false, mayBeRandom: false)
    #expect(shortFrame.encoding == .zstd)
    let file = fileAround(
      header: header, records: [record(ordinal: 0, raw: raw, transform: 0, lane: 1, planes: [(1, shortFrame.bytes)])],
      rawSizes: [256], checksums: [XXH64.hash(raw)])
    let error = kstError(file)
    #expect(error?.kind == .corrupt)
    #expect(error?.tensor == "z")
    #expect(error?.message.contains("declares 128 bytes") == true)
    #expect(kstError(file, pipe: true)?.kind == .corrupt)
  }

  @Test func recordFieldsAreChecked() throws {
    let header = Array(#"{"__metadata__":{},"tensors":[{"name":"h","dtype":"F16","shape":[4]}]}"#.utf8)
    let raw: [UInt8] = [0, 0x3c, 0, 0x40, 0, 0x42, 0, 0x44]
    let good = record(
      ordinal: 0, raw: raw, transform: 1, lane: 2, planes: [(0, [0, 0, 0, 0]), (0, [0x3c, 0x40, 0x42, 0x44])])
    #expect(kstError(fileAround(header: header, records: [good], rawSizes: [8], checksums: [XXH64.hash(raw)])) == nil)
    let bad: [(String, [UInt8])] = [
      (
        "rotation 0 with transform 2",
        record(
          ordinal: 0, raw: raw, transform: 2, lane: 2, planes: [(0, [0, 0, 0, 0]), (0, [0x3c, 0x40, 0x42, 0x44])])
      ),
      (
        "transform 7",
        record(
          ordinal: 0, raw: raw, transform: 7, lane: 2, planes: [(0, [0, 0, 0, 0]), (0, [0x3c, 0x40, 0x42, 0x44])])
      ),
      ("lane 0", record(ordinal: 0, raw: raw, transform: 2, rotation: 1, lane: 0, planes: [])),
      (
        "rotation 16",
        record(
          ordinal: 0, raw: raw, transform: 2, rotation: 16, lane: 2,
          planes: [(0, [0, 0, 0, 0]), (0, [0x3c, 0x40, 0x42, 0x44])])
      ),
      (
        "lane 3",
        record(ordinal: 0, raw: raw, transform: 1, lane: 3, planes: [(0, [0, 0, 0]), (0, [0, 0, 0]), (0, [0, 0])])
      ),
      (
        "ordinal",
        record(
          ordinal: 1, raw: raw, transform: 1, lane: 2, planes: [(0, [0, 0, 0, 0]), (0, [0x3c, 0x40, 0x42, 0x44])])
      ),
      (
        "encoding",
        record(
          ordinal: 0, raw: raw, transform: 1, lane: 2, planes: [(5, [0, 0, 0, 0]), (0, [0x3c, 0x40, 0x42, 0x44])])
      ),
      (
        "stored size",
        record(ordinal: 0, raw: raw, transform: 1, lane: 2, planes: [(0, [0, 0, 0, 0, 0]), (0, [0x3c, 0x40, 0x42])])
      ),
      (
        "checksum",
        record(
          ordinal: 0, raw: raw, transform: 1, lane: 2, planes: [(0, [0, 0, 0, 1]), (0, [0x3c, 0x40, 0x42, 0x44])])
      ),
      (
        "rotated wrongly",
        record(
          ordinal: 0, raw: raw, transform: 2, rotation: 1, lane: 2,
          planes: [(0, [0, 0, 0, 0]), (0, [0x3c, 0x40, 0x42, 0x44])])
      ),
      (
        "not zstd",
        record(ordinal: 0, raw: raw, transform: 1, lane: 2, planes: [(1, [1, 2, 3]), (0, [0x3c, 0x40, 0x42, 0x44])])
      ),
    ]
    for (what, record) in bad {
      #expect(
        kstError(fileAround(header: header, records: [record], rawSizes: [8], checksums: [XXH64.hash(raw)]))?.kind
          == .corrupt, "\(what)")
    }
  }

  @Test func lyingStoredLengthFailsBeforeAllocating() throws {
    let header = Array(#"{"__metadata__":{},"tensors":[{"name":"z","dtype":"U8","shape":[16]}]}"#.utf8)
    var lying =
      ContainerFormat.recordMagic + littleEndianBytes(UInt32(0)) + littleEndianBytes(UInt64(16))
      + littleEndianBytes(UInt64(0)) + [0, 1, 0, 0, 0, 0, 0, 0]
    lying += [1] + [UInt8](repeating: 0, count: 7) + littleEndianBytes(UInt64.max / 2)
    let file = fileAround(header: header, records: [lying], rawSizes: [16], checksums: [0])
    #expect(kstError(file, pipe: true)?.kind == .corrupt)
    #expect(kstError(file) != nil)
  }

  /// A record that promises terabytes: refused at open from the index (so even kswap-inspect
  /// refuses it), and on a pipe from the plane's frame, before any buffer of that size exists.
  @Test func decompressionBombIsRefusedBeforeAllocating() throws {
    let header = Array(#"{"__metadata__":{},"tensors":[{"name":"w","dtype":"F32","shape":[1000000,1000000]}]}"#.utf8)
    let raw = 4_000_000_000_000
    let frame = [0x28, 0xB5, 0x2F, 0xFD, 0xE0] + littleEndianBytes(UInt64(raw / 4))  // declares a quarter each
    var bomb =
      ContainerFormat.recordMagic + littleEndianBytes(UInt32(0)) + littleEndianBytes(UInt64(raw))
      + littleEndianBytes(UInt64(0)) + [2, 4, 1, 0, 0, 0, 0, 0]
    for _ in 0..<4 { bomb += [1] + [UInt8](repeating: 0, count: 7) + littleEndianBytes(UInt64(frame.count)) }
    for _ in 0..<4 { bomb += frame }
    let file = fileAround(header: header, records: [bomb], rawSizes: [raw], checksums: [0])
    let scratch = ScratchDirectory()
    #expect(
      throws: TensorFileError(
        .corrupt, file: scratch.file("b.kst"), tensor: "w",
        "a record of 148 bytes cannot hold the 4000000000000 raw bytes the header declares (zstd expands at most 32768-fold)"
      )
    ) { try TensorReader(path: scratch.write("b.kst", file)) }
    let piped = kstError(file, pipe: true)
    #expect(piped?.message == "plane 0: zstd frame of 13 bytes cannot hold 1000000000000 bytes")
  }

  @Test func strictHeader() throws {
    for json in [
      #"{"tensors":[],"__metadata__":{}}"#, #"{"__metadata__":{"a":1},"tensors":[]}"#,
      #"{"__metadata__":{},"tensors":[{"name":"a","dtype":"f32","shape":[]}]}"#,
      #"{"__metadata__":{},"tensors":[{"name":"a","dtype":"U8","shape":[]},{"name":"a","dtype":"U8","shape":[]}]}"#,
      #"{"__metadata__":{},"tensors":[],"extra":1}"#,
    ] {
      let header = Array(json.utf8)
      #expect(
        kstError(fileAround(header: header, records: [], rawSizes: [], checksums: []))?.kind == .corrupt, "\(json)")
    }
    #expect(
      kstError(
        fileAround(header: Array(#"{"__metadata__":{},"tensors":[]}"#.utf8), records: [], rawSizes: [], checksums: []))
        == nil)
  }
}
