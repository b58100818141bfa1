// The safetensors header: parse and validate it exactly as the Rust reference does
// (`SafeTensors::read_metadata` + `Metadata::validate`), and encode it exactly as the reference
// writer does (`prepare`): serde_json's compact text, padded with spaces to a multiple of 8.

struct SafetensorsHeader {
  /// The reference's MAX_HEADER_SIZE, applied when reading and when writing.
  static let maxHeaderSize = 100_000_000

  struct Entry {
    var info: TensorInfo
    /// Offsets relative to the start of the data buffer; end - begin == info.byteCount.
    var begin: Int
    var end: Int
  }

  var metadata: [String: String]
  /// In file order: sorted by data offset (the reference sorts the same way before validating).
  var entries: [Entry]
  /// Size of the data buffer: the last tensor's end offset.
  var dataSize: Int

  /// Parses and validates the JSON header bytes (everything between the length prefix and the data).
  static func parse(_ bytes: [UInt8], file: String) throws -> SafetensorsHeader {
    func deserializationError(_ message: String, tensor: String? = nil) -> TensorFileError {
      TensorFileError(.invalidHeaderDeserialization, file: file, tensor: tensor, "invalid header: \(message)")
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw TensorFileError(.invalidHeader, file: file, "header is not valid UTF-8")
    }
    let json: JSON
    do {
      json = try JSON(parsing: text, file: file)
    } catch let error as TensorFileError {
      throw deserializationError(error.message)
    }
    guard case let .object(members) = json else {
      throw deserializationError("expected a JSON object of tensors")
    }

    var metadata: [String: String]?
    var sawMetadata = false
    var declared: [String: (info: TensorInfo, begin: Int, end: Int)] = [:]
    for (key, value) in members {
      if key == "__metadata__" {
        guard !sawMetadata else { throw deserializationError("duplicate field `__metadata__`") }
        sawMetadata = true
        metadata = try parseMetadata(value, file: file)
      } else {
        // Duplicate tensor names: the last one wins, as in the reference (a differing duplicate then
        // fails the offset check below).
        declared[key] = try parseEntry(name: key, value, file: file)
      }
    }

    // File order: by (begin, end), then name so equal offsets (zero-size tensors) sort stably.
    let sorted = declared.values.sorted {
      ($0.begin, $0.end) != ($1.begin, $1.end)
        ? ($0.begin, $0.end) < ($1.begin, $1.end)
        : Array($0.info.name.utf8).lexicographicallyPrecedes(Array($1.info.name.utf8))
    }
    var entries: [Entry] = []
    var start = 0
    for item in sorted {
      let name = item.info.name
      guard item.begin == start, item.end >= item.begin else {
        let problem =
          item.begin < start
          ? "overlaps the tensor before it"
          : item.begin > start
            ? "leaves a hole: data before it is not covered by any tensor"
            : "ends before it begins"
        throw TensorFileError(
          .invalidOffset, file: file, tensor: name,
          "invalid offset [\(item.begin), \(item.end)]: expected it to begin at \(start); it \(problem)")
      }
      guard item.end - item.begin == item.info.byteCount else {
        throw TensorFileError(
          .tensorInvalidInfo, file: file, tensor: name,
          "\(item.info.dtype.name) \(item.info.shape) needs \(item.info.byteCount) bytes but its offsets [\(item.begin), \(item.end)] hold \(item.end - item.begin)"
        )
      }
      entries.append(Entry(info: item.info, begin: item.begin, end: item.end))
      start = item.end
    }
    return SafetensorsHeader(metadata: metadata ?? [:], entries: entries, dataSize: start)
  }

  private static func parseMetadata(_ value: JSON, file: String) throws -> [String: String]? {
    switch value {
    case .null:
      return nil  // serde reads `null` as an absent Option
    case let .object(pairs):
      var map: [String: String] = [:]
      for (key, entry) in pairs {
        guard case let .string(text) = entry else {
          throw TensorFileError(
            .invalidHeaderDeserialization, file: file,
            "invalid header: __metadata__ value of '\(key)' must be a string")
        }
        map[key] = text
      }
      return map
    default:
      throw TensorFileError(
        .invalidHeaderDeserialization, file: file,
        "invalid header: __metadata__ must be an object of strings")
    }
  }

  private static func parseEntry(name: String, _ value: JSON, file: String) throws
    -> (info: TensorInfo, begin: Int, end: Int)
  {
    func fail(_ message: String) -> TensorFileError {
      TensorFileError(.invalidHeaderDeserialization, file: file, tensor: name, "invalid header: \(message)")
    }
    guard case let .object(fields) = value else { throw fail("expected an object with dtype, shape, data_offsets") }
    var dtype: DType?
    var shape: [Int]?
    var offsets: [Int]?
    var seen = Set<String>()
    for (key, field) in fields {
      guard ["dtype", "shape", "data_offsets"].contains(key) else { continue }  // unknown fields are ignored, as in the reference
      guard seen.insert(key).inserted else { throw fail("duplicate field `\(key)`") }
      switch key {
      case "dtype":
        guard case let .string(text) = field else { throw fail("dtype must be a string") }
        guard let parsed = DType(name: text) else {
          throw fail("unknown dtype '\(text)' (expected one of \(DType.allCases.map(\.name).joined(separator: ", ")))")
        }
        dtype = parsed
      case "shape":
        shape = try unsignedArray(field, what: "shape", fail: fail)
      default:
        let pair = try unsignedArray(field, what: "data_offsets", fail: fail)
        guard pair.count == 2 else { throw fail("data_offsets must hold exactly 2 integers, found \(pair.count)") }
        offsets = pair
      }
    }
    guard let dtype else { throw fail("missing field `dtype`") }
    guard let shape else { throw fail("missing field `shape`") }
    guard let offsets else { throw fail("missing field `data_offsets`") }
    let info = try TensorInfo(name: name, dtype: dtype, shape: shape, file: file)
    return (info, offsets[0], offsets[1])
  }

  private static func unsignedArray(_ value: JSON, what: String, fail: (String) -> TensorFileError) throws -> [Int] {
    guard case let .array(items) = value else { throw fail("\(what) must be an array of non-negative integers") }
    return try items.map { item in
      guard let number = item.nonNegativeInt else {
        if case let .number(text) = item, item.isInteger, !text.hasPrefix("-") {
          throw fail("\(what) value \(text) is larger than 2^63-1")
        }
        throw fail("\(what) must hold non-negative integers, found \(describe(item))")
      }
      return number
    }
  }

  private static func describe(_ value: JSON) -> String {
    switch value {
    case let .number(text): return text
    case let .string(text): return "the string \"\(text)\""
    case .bool: return "a boolean"
    case .null: return "null"
    case .array: return "an array"
    case .object: return "an object"
    }
  }

  /// The reference writer's order: dtype descending in declaration order (widest first), then name
  /// by bytes. Every tensor then starts at a multiple of its element size.
  static func referenceOrder(_ tensors: [TensorInfo]) -> [TensorInfo] {
    tensors.sorted {
      $0.dtype != $1.dtype ? $0.dtype > $1.dtype : Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8))
    }
  }

  /// The 8-byte length prefix and the padded JSON for `tensors` laid out in the given order.
  static func encode(metadata: [String: String], tensors: [TensorInfo], file: String) throws -> [UInt8] {
    var members: [(key: String, value: JSON)] = []
    if !metadata.isEmpty { members.append(("__metadata__", .sortedStrings(metadata))) }
    var offset = 0
    for tensor in tensors {
      let (end, overflow) = offset.addingReportingOverflow(tensor.byteCount)
      guard !overflow else {
        throw TensorFileError(.validationOverflow, file: file, tensor: tensor.name, "total data size overflows")
      }
      members.append(
        (
          tensor.name,
          .object([
            ("dtype", .string(tensor.dtype.name)),
            ("shape", .array(tensor.shape.map { .integer($0) })),
            ("data_offsets", .array([.integer(offset), .integer(end)])),
          ])
        ))
      offset = end
    }
    var bytes = Array(JSON.object(members).text().utf8)
    let padded = (bytes.count + 7) / 8 * 8
    bytes += Array(repeating: UInt8(ascii: " "), count: padded - bytes.count)
    guard bytes.count <= maxHeaderSize else {
      throw TensorFileError(
        .headerTooLarge, file: file,
        "header of \(bytes.count) bytes exceeds the limit of \(maxHeaderSize)")
    }
    return littleEndianBytes(UInt64(bytes.count)) + bytes
  }
}

func littleEndianBytes(_ value: UInt64) -> [UInt8] {
  (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}

func littleEndianBytes(_ value: UInt32) -> [UInt8] {
  (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}

func readLittleEndian<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
  bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
}
