// The compressed container (.kst) as bytes: preamble, JSON header, one record per tensor, index,
// trailer. Formats/tensor-file.md is the specification; the comments here point at its sections.

enum ContainerFormat {
  /// PNG-style magic: a non-ASCII first byte, CR LF and ^Z catch text-mode transfers; read as a
  /// safetensors length it is far above the 1e8 limit, so no safetensors reader mistakes it.
  static let magic: [UInt8] = [0x89, 0x4B, 0x53, 0x54, 0x0D, 0x0A, 0x1A, 0x0A]  // \x89 K S T \r \n ^Z \n
  static let trailerMagic: [UInt8] = [0x89, 0x4B, 0x53, 0x54, 0x49, 0x44, 0x58, 0x0A]  // \x89 K S T I D X \n
  static let recordMagic: [UInt8] = Array("KSTR".utf8)
  static let version: UInt32 = 1
  static let preambleSize = 16
  static let recordHeaderSize = 32
  static let planeEntrySize = 16
  static let indexEntrySize = 32
  static let trailerSize = 32
  static let maxHeaderSize = SafetensorsHeader.maxHeaderSize

  struct IndexEntry: Equatable {
    var offset: Int  // record start, from the start of the file
    var length: Int  // record size: header, plane table and plane data
    var rawSize: Int
    var checksum: UInt64
  }

  static func headerJSON(metadata: [String: String], tensors: [TensorInfo]) -> [UInt8] {
    let entries: [JSON] = tensors.map {
      .object([
        ("name", .string($0.name)), ("dtype", .string($0.dtype.name)), ("shape", .array($0.shape.map { .integer($0) })),
      ])
    }
    return Array(JSON.object([("__metadata__", .sortedStrings(metadata)), ("tensors", .array(entries))]).text().utf8)
  }

  /// Parses the header JSON strictly: exactly the keys the spec lists, no duplicates, unique names.
  static func parseHeader(_ bytes: [UInt8], file: String) throws -> (metadata: [String: String], tensors: [TensorInfo])
  {
    func fail(_ message: String, tensor: String? = nil) -> TensorFileError {
      TensorFileError(.corrupt, file: file, tensor: tensor, "invalid .kst header: \(message)")
    }
    guard let text = String(validating: bytes, as: UTF8.self) else { throw fail("not UTF-8") }
    let json: JSON
    do { json = try JSON(parsing: text, file: file) } catch let error as TensorFileError { throw fail(error.message) }
    guard case let .object(members) = json, members.count == 2,
      members[0].key == "__metadata__", case let .object(metadataPairs) = members[0].value,
      members[1].key == "tensors", case let .array(entries) = members[1].value
    else { throw fail("expected {\"__metadata__\": {...}, \"tensors\": [...]}") }
    var metadata: [String: String] = [:]
    for (key, value) in metadataPairs {
      guard case let .string(string) = value else { throw fail("__metadata__ value of '\(key)' must be a string") }
      guard metadata.updateValue(string, forKey: key) == nil else { throw fail("duplicate __metadata__ key '\(key)'") }
    }
    var tensors: [TensorInfo] = []
    var names = Set<String>()
    for entry in entries {
      guard case let .object(fields) = entry, fields.count == 3,
        fields[0].key == "name", case let .string(name) = fields[0].value,
        fields[1].key == "dtype", case let .string(dtypeName) = fields[1].value,
        fields[2].key == "shape", case let .array(dimensions) = fields[2].value
      else { throw fail("each tensor must be {\"name\": ..., \"dtype\": ..., \"shape\": [...]}") }
      guard let dtype = DType(name: dtypeName) else { throw fail("unknown dtype '\(dtypeName)'", tensor: name) }
      let shape = try dimensions.map { dimension in
        guard let value = dimension.nonNegativeInt else {
          throw fail("shape must hold non-negative integers below 2^63", tensor: name)
        }
        return value
      }
      guard names.insert(name).inserted else { throw fail("duplicate tensor name", tensor: name) }
      tensors.append(try TensorInfo(name: name, dtype: dtype, shape: shape, file: file))
    }
    return (metadata, tensors)
  }
}

/// Reads a .kst file whose first 8 bytes (the magic) were consumed from `input`.
final class ContainerReader {
  let input: InputFile
  let metadata: [String: String]
  private(set) var tensors: [TensorInfo]
  /// Where the first record starts; records tile the file from here up to the index.
  let recordsStart: Int
  /// Loaded at open on a seekable file; built while streaming otherwise.
  private var index: [ContainerFormat.IndexEntry] = []
  private let codec = ZstdCodec()
  /// Reused from record to record, so reading does not allocate (and fault in) fresh pages for
  /// anything but each tensor's result.
  private var storedBuffer: [UInt8] = []
  private var planeBuffers: [[UInt8]] = []
  private var file: String { input.displayName }

  init(input: InputFile) throws {
    self.input = input
    let file = input.displayName
    let preamble = try input.readNext(ContainerFormat.preambleSize - 8, what: "the .kst preamble")
    let version = UInt32(truncatingIfNeeded: readLittleEndian(preamble[0..<4]))
    guard version == ContainerFormat.version else {
      throw TensorFileError(
        .unsupported, file: file, "kst format version \(version); this build reads version \(ContainerFormat.version)")
    }
    let headerLength = Int(readLittleEndian(preamble[4..<8]))
    guard headerLength <= ContainerFormat.maxHeaderSize else {
      throw TensorFileError(
        .headerTooLarge, file: file,
        "header of \(headerLength) bytes exceeds the limit of \(ContainerFormat.maxHeaderSize)")
    }
    let header = try input.readNext(headerLength, what: "the .kst header")
    let checksum = readLittleEndian(try input.readNext(8, what: "the header checksum"))
    guard XXH64.hash(header) == checksum else {
      throw TensorFileError(.corrupt, file: file, "header checksum mismatch: the header is damaged")
    }
    (metadata, tensors) = try ContainerFormat.parseHeader(header, file: file)
    recordsStart = ContainerFormat.preambleSize + headerLength + 8
    for i in tensors.indices {
      tensors[i].codec = .zstdPlanes
      tensors[i].storedByteCount = nil
    }
    if input.isSeekable { try loadIndex() }
  }

  /// Reads and checks the trailer and index at the end of a seekable file.
  private func loadIndex() throws {
    let size = input.size!
    let count = tensors.count
    let indexBytes = count * ContainerFormat.indexEntrySize  // bounded: count <= header size
    guard size >= recordsStart + indexBytes + ContainerFormat.trailerSize else {
      throw TensorFileError(.truncated, file: file, "file too short for the index of \(count) tensors and the trailer")
    }
    let trailer = try input.read(
      at: size - ContainerFormat.trailerSize, count: ContainerFormat.trailerSize, what: "the trailer")
    guard Array(trailer[24..<32]) == ContainerFormat.trailerMagic else {
      throw TensorFileError(.truncated, file: file, "no .kst trailer at the end: the file is truncated or damaged")
    }
    let indexOffset = readLittleEndian(trailer[0..<8])
    guard readLittleEndian(trailer[8..<16]) == UInt64(count),
      indexOffset == UInt64(size - ContainerFormat.trailerSize - indexBytes)
    else {
      throw TensorFileError(
        .corrupt, file: file, "trailer does not match the header's \(count) tensors and the file size")
    }
    let bytes = try input.read(at: Int(indexOffset), count: indexBytes, what: "the index")
    guard XXH64.hash(bytes) == readLittleEndian(trailer[16..<24]) else {
      throw TensorFileError(.corrupt, file: file, "index checksum mismatch: the index is damaged")
    }
    index = try parseIndex(bytes, end: Int(indexOffset))
    for i in tensors.indices { tensors[i].storedByteCount = index[i].length }
  }

  /// Decodes index entries and checks that the records tile [recordsStart, end) in order.
  private func parseIndex(_ bytes: [UInt8], end: Int) throws -> [ContainerFormat.IndexEntry] {
    var entries: [ContainerFormat.IndexEntry] = []
    var expectedOffset = recordsStart
    for (i, tensor) in tensors.enumerated() {
      let base = i * ContainerFormat.indexEntrySize
      let field = { (k: Int) in readLittleEndian(bytes[base + 8 * k..<base + 8 * k + 8]) }
      guard field(0) == UInt64(expectedOffset), field(1) <= UInt64(end - expectedOffset),
        field(1) >= UInt64(ContainerFormat.recordHeaderSize), field(2) == UInt64(tensor.byteCount)
      else {
        throw TensorFileError(
          .corrupt, file: file, tensor: tensor.name, "index entry disagrees with the header or the record layout")
      }
      // Checked here, at open, so that no reader of the file allocates for a decompression bomb.
      guard UInt64(tensor.byteCount / ZstdCodec.maxRatio) <= field(1) else {
        throw TensorFileError(
          .corrupt, file: file, tensor: tensor.name,
          "a record of \(field(1)) bytes cannot hold the \(tensor.byteCount) raw bytes the header declares (zstd expands at most \(ZstdCodec.maxRatio)-fold)"
        )
      }
      let entry = ContainerFormat.IndexEntry(
        offset: expectedOffset, length: Int(field(1)), rawSize: tensor.byteCount, checksum: field(3))
      entries.append(entry)
      expectedOffset += entry.length
    }
    guard expectedOffset == end else {
      throw TensorFileError(
        .corrupt, file: file, "index leaves \(end - expectedOffset) bytes before it unaccounted for")
    }
    return entries
  }

  /// Random access: reads and decodes one record.
  func bytes(ofTensorAt ordinal: Int) throws -> [UInt8] {
    input.seek(to: index[ordinal].offset)
    let (bytes, entry) = try readRecord(ordinal)
    guard entry == index[ordinal] else {
      throw TensorFileError(.corrupt, file: file, tensor: tensors[ordinal].name, "record disagrees with the index")
    }
    return bytes
  }

  /// Every tensor in order; on a stream also reads and checks the index and trailer and that
  /// nothing follows them.
  func forEachTensor(_ body: (Int, [UInt8]) throws -> Void) throws {
    if input.isSeekable {
      for ordinal in tensors.indices { try body(ordinal, try bytes(ofTensorAt: ordinal)) }
      return
    }
    for ordinal in tensors.indices {
      let (bytes, entry) = try readRecord(ordinal)
      index.append(entry)
      tensors[ordinal].storedByteCount = entry.length
      try body(ordinal, bytes)
    }
    let indexStart = input.position
    let indexBytes = try input.readNext(tensors.count * ContainerFormat.indexEntrySize, what: "the index")
    let trailer = try input.readNext(ContainerFormat.trailerSize, what: "the trailer")
    guard Array(trailer[24..<32]) == ContainerFormat.trailerMagic,
      readLittleEndian(trailer[0..<8]) == UInt64(indexStart),
      readLittleEndian(trailer[8..<16]) == UInt64(tensors.count),
      XXH64.hash(indexBytes) == readLittleEndian(trailer[16..<24])
    else { throw TensorFileError(.corrupt, file: file, "trailer damaged or does not match the records") }
    guard try parseIndex(indexBytes, end: indexStart) == index else {
      throw TensorFileError(.corrupt, file: file, "index disagrees with the records")
    }
    guard try input.atEnd() else { throw TensorFileError(.trailingData, file: file, "bytes follow the trailer") }
  }

  /// Reads the record at the input's position; checks every field, decodes, verifies the checksum.
  private func readRecord(_ ordinal: Int) throws -> ([UInt8], ContainerFormat.IndexEntry) {
    let tensor = tensors[ordinal]
    func corrupt(_ message: String) -> TensorFileError {
      TensorFileError(.corrupt, file: file, tensor: tensor.name, message)
    }
    let start = input.position
    let header = try input.readNext(ContainerFormat.recordHeaderSize, what: "the record header", tensor: tensor.name)
    guard Array(header[0..<4]) == ContainerFormat.recordMagic else {
      throw corrupt("no record marker where the tensor's record should start")
    }
    guard readLittleEndian(header[4..<8]) == UInt64(ordinal) else {
      throw corrupt("record out of order: expected tensor number \(ordinal)")
    }
    guard readLittleEndian(header[8..<16]) == UInt64(tensor.byteCount) else {
      throw corrupt(
        "record holds \(readLittleEndian(header[8..<16])) raw bytes, expected \(tensor.byteCount) for \(tensor.dtype.name) \(tensor.shape)"
      )
    }
    let checksum = readLittleEndian(header[16..<24])
    guard let transform = PlaneLayout.Transform(rawValue: header[24]), header[27..<32].allSatisfy({ $0 == 0 }) else {
      throw corrupt("unknown plane transform \(header[24]) or non-zero reserved bytes")
    }
    let lane = Int(header[25])
    let rotation = Int(header[26])
    let layout = PlaneLayout(transform: transform, lane: lane, rotation: rotation)
    let validLane = transform == .none ? lane == 1 : [2, 4, 8].contains(lane)
    let validRotation = transform == .rotatedPlanes ? rotation >= 1 && rotation < 8 * lane : rotation == 0
    guard validLane, validRotation, tensor.byteCount % lane == 0 else {
      throw corrupt(
        "plane count \(lane) and rotation \(rotation) do not fit transform \(transform) and \(tensor.byteCount) bytes")
    }
    let planeSize = tensor.byteCount / lane
    let table = try input.readNext(lane * ContainerFormat.planeEntrySize, what: "the plane table", tensor: tensor.name)
    var length = ContainerFormat.recordHeaderSize + table.count
    if planeBuffers.count < lane { planeBuffers += Array(repeating: [], count: lane - planeBuffers.count) }
    for k in 0..<lane {
      let base = k * ContainerFormat.planeEntrySize
      guard let encoding = StoredPlane.Encoding(rawValue: table[base]),
        table[base + 1..<base + 8].allSatisfy({ $0 == 0 })
      else {
        throw corrupt("plane \(k): unknown encoding \(table[base]) or non-zero reserved bytes")
      }
      let stored = readLittleEndian(table[base + 8..<base + 16])
      let limit = encoding == .stored ? planeSize : ZstdCodec.frameBound(planeSize)
      guard stored <= UInt64(limit) else {
        throw corrupt(
          "plane \(k) claims \(stored) stored bytes, more than the \(limit) a \(planeSize)-byte plane can need")
      }
      try input.readNext(Int(stored), into: &storedBuffer, what: "plane \(k)", tensor: tensor.name)
      let problem = storedBuffer.withUnsafeBytes { bytes in
        codec.decode(
          encoding, UnsafeRawBufferPointer(rebasing: bytes[0..<Int(stored)]), size: planeSize, into: &planeBuffers[k])
      }
      if let problem { throw corrupt("plane \(k): \(problem)") }
      length += Int(stored)
    }
    let raw = PlaneSplitter.join(Array(planeBuffers.prefix(lane)), count: planeSize, layout: layout)
    guard XXH64.hash(raw) == checksum else { throw corrupt("checksum mismatch: the tensor's data is damaged") }
    return (
      raw, ContainerFormat.IndexEntry(offset: start, length: length, rawSize: tensor.byteCount, checksum: checksum)
    )
  }
}

/// Writes the container to an output: preamble and header at once, a record per `append`, and
/// the index and trailer at `finish`. Nothing is ever rewritten, so the output can be a pipe.
final class ContainerWriter {
  private let output: OutputFile
  private let tensors: [TensorInfo]
  private let level: Int
  private let codec = ZstdCodec()
  private var index: [ContainerFormat.IndexEntry] = []

  init(output: OutputFile, metadata: [String: String], tensors: [TensorInfo], level: Int) throws {
    self.output = output
    self.tensors = tensors
    self.level = level
    let header = ContainerFormat.headerJSON(metadata: metadata, tensors: tensors)
    guard header.count <= ContainerFormat.maxHeaderSize else {
      throw TensorFileError(
        .headerTooLarge, file: output.displayName,
        "header of \(header.count) bytes exceeds the limit of \(ContainerFormat.maxHeaderSize)")
    }
    try output.write(
      ContainerFormat.magic + littleEndianBytes(ContainerFormat.version) + littleEndianBytes(UInt32(header.count)))
    try output.write(header)
    try output.write(littleEndianBytes(XXH64.hash(header)))
  }

  func append(_ raw: UnsafeRawBufferPointer) throws {
    let ordinal = index.count
    let tensor = tensors[ordinal]
    let layout = PlaneLayout.forDType(tensor.dtype, level: level)
    let count = raw.count / layout.lane
    let stored = PlaneSplitter.split(raw, layout: layout).withUnsafeBytes { planes in
      (0..<layout.lane).map { k in
        codec.encode(
          UnsafeRawBufferPointer(rebasing: planes[k * count..<(k + 1) * count]), level: level,
          float: layout.isFloat, mayBeRandom: layout.lane > 1)
      }
    }
    let checksum = XXH64.hash(raw)
    var header =
      ContainerFormat.recordMagic + littleEndianBytes(UInt32(ordinal)) + littleEndianBytes(UInt64(raw.count))
      + littleEndianBytes(checksum) + [layout.transform.rawValue, UInt8(layout.lane), UInt8(layout.rotation)]
      + [UInt8](repeating: 0, count: 5)
    for plane in stored {
      header +=
        [plane.encoding.rawValue] + [UInt8](repeating: 0, count: 7) + littleEndianBytes(UInt64(plane.bytes.count))
    }
    let start = output.bytesWritten
    try output.write(header)
    for plane in stored { try output.write(plane.bytes) }
    index.append(
      ContainerFormat.IndexEntry(
        offset: start, length: output.bytesWritten - start, rawSize: raw.count, checksum: checksum))
  }

  func finish() throws {
    let indexStart = output.bytesWritten
    var bytes: [UInt8] = []
    for entry in index {
      bytes +=
        littleEndianBytes(UInt64(entry.offset)) + littleEndianBytes(UInt64(entry.length))
        + littleEndianBytes(UInt64(entry.rawSize)) + littleEndianBytes(entry.checksum)
    }
    try output.write(bytes)
    try output.write(
      littleEndianBytes(UInt64(indexStart)) + littleEndianBytes(UInt64(index.count))
        + littleEndianBytes(XXH64.hash(bytes)) + ContainerFormat.trailerMagic)
  }
}
