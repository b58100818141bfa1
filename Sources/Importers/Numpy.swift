/// A numpy array read from a .npy file (format versions 1, 2 and 3): the magic "\x93NUMPY", a
/// version, a little-endian header length, a Python dict literal with 'descr', 'fortran_order' and
/// 'shape', then the raw elements. Numeric dtypes only (no objects, strings or records).
/// The elements are returned little-endian and in C (row-major) order whatever the file used.
public struct NumpyArray: Equatable, Sendable {
  public enum Kind: Character, Sendable {
    case bool = "b"
    case int = "i"
    case uint = "u"
    case float = "f"
  }

  public var kind: Kind
  /// Bytes per element: 1 for bool; 1, 2, 4, 8 for integers; 2, 4, 8 for floats.
  public var itemSize: Int
  public var shape: [Int]
  /// Little-endian, row-major elements.
  public var data: [UInt8]

  public var elementCount: Int { data.count / itemSize }

  /// The safetensors dtype name with the same bytes: BOOL, U8...U64, I8...I64, F16, F32, F64.
  public var dtypeName: String {
    switch kind {
    case .bool: return "BOOL"
    case .int: return "I\(itemSize * 8)"
    case .uint: return "U\(itemSize * 8)"
    case .float: return "F\(itemSize * 8)"
    }
  }

  public init(kind: Kind, itemSize: Int, shape: [Int], data: [UInt8]) {
    self.kind = kind
    self.itemSize = itemSize
    self.shape = shape
    self.data = data
  }

  /// Parses .npy bytes; `file` names the input in errors.
  public init(npy bytes: [UInt8], file: String, limits: ImportLimits = .standard) throws {
    let (headerStart, headerLength) = try Self.preamble(bytes, file: file)
    guard bytes.count >= headerStart + headerLength else {
      throw ImportError(
        .truncated,
        file, ".npy header claims \(headerLength) bytes, the file has \(bytes.count - headerStart) after the preamble")
    }
    let layout = try Layout(bytes[headerStart..<headerStart + headerLength], file: file, limits: limits)
    let dataStart = headerStart + headerLength
    guard bytes.count - dataStart == layout.dataSize else {
      throw layout.sizeError(bytes.count - dataStart, file: file)
    }
    self.init(layout, data: Array(bytes[dataStart...]))
  }

  /// Reads a .npy file from a stream: the header first, then, once what it claims has been checked
  /// against the limits and what the input can hold (a zip member's declared size), the data.
  public init(stream: ArchiveStream) throws {
    let file = stream.name
    var prefix = try stream.read(upTo: 10, what: "the .npy preamble")
    if prefix.count == 10 && prefix[6] >= 2 { prefix += try stream.read(upTo: 2, what: "the .npy preamble") }
    let (headerStart, headerLength) = try Self.preamble(prefix, file: file)
    let header = prefix + (try stream.read(upTo: headerLength, what: "the .npy header"))
    guard header.count == headerStart + headerLength else {
      throw ImportError(
        .truncated,
        file, ".npy header claims \(headerLength) bytes, the file has \(header.count - headerStart) after the preamble")
    }
    let layout = try Layout(header[headerStart...], file: file, limits: stream.limits)
    if let declared = stream.declaredSize, declared - header.count != layout.dataSize {
      throw layout.sizeError(declared - header.count, file: file)
    }
    let data = try stream.read(upTo: layout.dataSize, what: "the .npy data")
    guard data.count == layout.dataSize else { throw layout.sizeError(data.count, file: file) }
    guard try stream.atEnd() else {
      throw ImportError(
        .trailingData,
        file, ".npy data goes on past the \(layout.dataSize) bytes shape \(layout.shape) of \(layout.descr) needs")
    }
    self.init(layout, data: data)
  }

  /// Reads a .npy file (compressed with gzip or not).
  public init(path: String, limits: ImportLimits = .standard) throws {
    self = try ArchiveInput.withDecompressed(path: path, limits: limits) { try NumpyArray(stream: $0) }
  }

  /// The arrays of an .npz archive (a zip of NAME.npy members, stored or deflated), by NAME, in
  /// archive order.
  public static func readNPZ(path: String, limits: ImportLimits = .standard) throws -> [(
    name: String, array: NumpyArray
  )] {
    var arrays: [(name: String, array: NumpyArray)] = []
    try ArchiveInput.forEachZipMember(path: path, limits: limits) { member, stream in
      guard member.hasSuffix(".npy") else {
        throw ImportError(.unrecognised, path, "member \(member) of the .npz archive is not a .npy file")
      }
      arrays.append((String(member.dropLast(4)), try NumpyArray(stream: stream)))
      return true
    }
    guard !arrays.isEmpty else { throw ImportError(.notFound, path, "the .npz archive holds no arrays") }
    return arrays
  }

  /// What a .npy header says: the element type, the shape, and how many data bytes follow.
  struct Layout {
    var descr: String
    var kind: Kind
    var itemSize: Int
    var bigEndian: Bool
    var fortranOrder: Bool
    var shape: [Int]
    var dataSize: Int

    /// Parses the header text; refuses shapes over the limits before anything is allocated.
    init(_ header: ArraySlice<UInt8>, file: String, limits: ImportLimits) throws {
      let fields = try NumpyHeader.parse(String(decoding: header, as: UTF8.self), file: file)
      let (kind, itemSize, bigEndian) = try NumpyHeader.dtype(fields.descr, file: file)
      guard let elements = checkedProduct(fields.shape), elements <= limits.maxElements,
        let size = checkedProduct([elements, itemSize])
      else {
        throw ImportError(.limitExceeded, file, ".npy shape \(fields.shape) is too large")
      }
      (descr, self.kind, self.itemSize, self.bigEndian) = (fields.descr, kind, itemSize, bigEndian)
      (fortranOrder, shape, dataSize) = (fields.fortranOrder, fields.shape, size)
    }

    func sizeError(_ found: Int, file: String) -> ImportError {
      ImportError(
        found < dataSize ? .truncated : .trailingData, file,
        ".npy data has \(found) bytes, shape \(shape) of \(descr) needs \(dataSize)")
    }
  }

  /// Where the header starts and how long it is, from the magic, version and length at the start.
  private static func preamble(_ bytes: [UInt8], file: String) throws -> (start: Int, length: Int) {
    let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
      throw ImportError(.unrecognised, file, "not a .npy file: the magic \\x93NUMPY is missing")
    }
    let major = bytes[6]
    let headerStart: Int
    let headerLength: Int
    switch major {
    case 1:
      headerStart = 10
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    case 2, 3:
      guard bytes.count >= 12 else { throw ImportError(.truncated, file, ".npy header is truncated") }
      headerStart = 12
      headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
    default:
      throw ImportError(.unsupported, file, ".npy format version \(major).\(bytes[7]) is not supported (1, 2, 3 are)")
    }
    guard headerLength <= 1 << 20 else {
      throw ImportError(.limitExceeded, file, ".npy header of \(headerLength) bytes is too large")
    }
    return (headerStart, headerLength)
  }

  /// The array from a parsed header and its data: little-endian, row-major.
  private init(_ layout: Layout, data raw: [UInt8]) {
    var data = raw
    if layout.bigEndian && layout.itemSize > 1 {
      for start in stride(from: 0, to: data.count, by: layout.itemSize) {
        data[start..<start + layout.itemSize].reverse()
      }
    }
    if layout.fortranOrder && layout.shape.count > 1 {
      data = Self.cOrder(fromFortran: data, shape: layout.shape, itemSize: layout.itemSize)
    }
    self.init(kind: layout.kind, itemSize: layout.itemSize, shape: layout.shape, data: data)
  }

  /// Every element as a Double (exact for all but 64-bit integers beyond 2^53).
  public func doubles() -> [Double] {
    data.withUnsafeBytes { raw in
      (0..<elementCount).map { i in
        let at = i * itemSize
        switch (kind, itemSize) {
        case (.bool, _): return raw[at] == 0 ? 0 : 1
        case (.uint, 1): return Double(raw[at])
        case (.int, 1): return Double(Int8(bitPattern: raw[at]))
        case (.uint, 2): return Double(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        case (.int, 2): return Double(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int16.self)))
        case (.uint, 4): return Double(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        case (.int, 4): return Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int32.self)))
        case (.uint, _): return Double(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
        case (.int, _): return Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: Int64.self)))
        case (.float, 2):
          return Double(halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))))
        case (.float, 4):
          return Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self))))
        case (.float, _):
          return Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
        }
      }
    }
  }

  /// Every element as an Int64; integers and bools only.
  public func integers(file: String) throws -> [Int64] {
    guard kind != .float else {
      throw ImportError(.invalidDataset, file, "expected integers, the array holds \(dtypeName)")
    }
    if kind == .uint && itemSize == 8 {
      return try data.withUnsafeBytes { raw in
        try (0..<elementCount).map { i in
          let value = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
          guard let exact = Int64(exactly: value) else {
            throw ImportError(.invalidDataset, file, "value \(value) does not fit in I64")
          }
          return exact
        }
      }
    }
    if kind == .int && itemSize == 8 {
      return data.withUnsafeBytes { raw in
        (0..<elementCount).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
      }
    }
    return doubles().map { Int64($0) }
  }

  /// Reorders elements stored column-major (Fortran) into row-major.
  private static func cOrder(fromFortran data: [UInt8], shape: [Int], itemSize: Int) -> [UInt8] {
    var fortranStrides = [Int](repeating: 1, count: shape.count)
    for axis in 1..<shape.count { fortranStrides[axis] = fortranStrides[axis - 1] * shape[axis - 1] }
    return gatherRowMajor(data, itemSize: itemSize, shape: shape, strides: fortranStrides)
  }
}

/// IEEE half to Float (subnormals, infinities and NaN included).
func halfToFloat(_ bits: UInt16) -> Float {
  let sign: Float = bits & 0x8000 != 0 ? -1 : 1
  let exponent = Int(bits >> 10 & 0x1F)
  let mantissa = Float(bits & 0x3FF)
  switch exponent {
  case 0: return sign * mantissa * 0x1p-24
  case 31: return mantissa == 0 ? sign * .infinity : .nan
  default: return sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
  }
}

/// The Python dict literal of a .npy header, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
enum NumpyHeader {
  struct Fields {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]
  }

  static func parse(_ text: String, file: String) throws -> Fields {
    var scanner = Scanner(Array(text.utf8))
    func fail(_ what: String) -> ImportError {
      ImportError(.malformed, file, ".npy header \(what): \(text.trimmingBlanks)")
    }
    guard scanner.take("{") else { throw fail("is not a dict") }
    var descr: String?, fortran: Bool?, shape: [Int]?
    while !scanner.take("}") {
      guard let key = scanner.quoted(), scanner.take(":") else { throw fail("is malformed") }
      switch key {
      case "descr":
        guard let value = scanner.quoted() else {
          throw fail("has a descr that is not a simple dtype string (records are not supported)")
        }
        descr = value
      case "fortran_order":
        if scanner.word("True") {
          fortran = true
        } else if scanner.word("False") {
          fortran = false
        } else {
          throw fail("has a fortran_order that is not True or False")
        }
      case "shape":
        guard let dims = scanner.tuple() else { throw fail("has a shape that is not a tuple of integers") }
        shape = dims
      default: throw fail("has an unknown key '\(key)'")
      }
      if !scanner.take(",") {
        guard scanner.take("}") else { throw fail("is malformed") }
        break
      }
    }
    guard let descr, let fortran, let shape else { throw fail("lacks descr, fortran_order or shape") }
    return Fields(descr: descr, fortranOrder: fortran, shape: shape)
  }

  /// (kind, item size, big-endian) of a numpy type string such as '<f4', '|u1', '>i8', '|b1'.
  static func dtype(_ descr: String, file: String) throws -> (NumpyArray.Kind, Int, Bool) {
    let chars = Array(descr)
    guard chars.count >= 3, "<>|=".contains(chars[0]), let kind = NumpyArray.Kind(rawValue: chars[1]),
      let size = Int(String(chars[2...]))
    else {
      throw ImportError(.unsupported, file, "numpy dtype '\(descr)' is not supported (bool, integers and floats are)")
    }
    let valid: Set<Int> = kind == .bool ? [1] : kind == .float ? [2, 4, 8] : [1, 2, 4, 8]
    guard valid.contains(size) else { throw ImportError(.unsupported, file, "numpy dtype '\(descr)' is not supported") }
    return (kind, size, chars[0] == ">")
  }

  struct Scanner {
    let bytes: [UInt8]
    var at = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipBlanks() {
      while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x09 { at += 1 }
    }

    mutating func take(_ symbol: Character) -> Bool {
      skipBlanks()
      guard at < bytes.count, bytes[at] == symbol.asciiValue else { return false }
      at += 1
      return true
    }

    mutating func word(_ word: String) -> Bool {
      skipBlanks()
      let expected = Array(word.utf8)
      guard bytes.count - at >= expected.count, Array(bytes[at..<at + expected.count]) == expected else { return false }
      at += expected.count
      return true
    }

    mutating func quoted() -> String? {
      skipBlanks()
      guard at < bytes.count, bytes[at] == 0x27 || bytes[at] == 0x22 else { return nil }
      let quote = bytes[at]
      guard let end = bytes[(at + 1)...].firstIndex(of: quote) else { return nil }
      defer { at = end + 1 }
      return String(decoding: bytes[(at + 1)..<end], as: UTF8.self)
    }

    mutating func tuple() -> [Int]? {
      guard take("(") else { return nil }
      var values: [Int] = []
      while !take(")") {
        skipBlanks()
        let start = at
        while at < bytes.count, bytes[at] >= 0x30 && bytes[at] <= 0x39 { at += 1 }
        if at < bytes.count, bytes[at] == 0x4C { at += 1 }  // Python 2's long suffix, 3L
        guard at > start, at - start <= 18,
          let value = Int(String(decoding: bytes[start..<at].filter { $0 != 0x4C }, as: UTF8.self))
        else { return nil }
        values.append(value)
        if !take(",") {
          guard take(")") else { return nil }
          break
        }
      }
      return values
    }
  }
}

extension String {
  fileprivate var trimmingBlanks: String {
    var text = Substring(self)
    while let last = text.last, last == " " || last == "\n" { text = text.dropLast() }
    return String(text)
  }
}

extension Dataset {
  /// A dataset from numpy arrays: images (N, H, W) or (N, C, H, W) and labels (N) of integers.
  /// Images of u8, or of integers all within 0...255, stay bytes; others become F32.
  public static func fromNumpy(
    images: NumpyArray, labels labelArray: NumpyArray, imagesFile: String,
    labelsFile: String, classes: [String?] = []
  ) throws -> Dataset {
    guard labelArray.shape.count == 1 else {
      throw ImportError(.invalidDataset, labelsFile, "labels must have one dimension, found shape \(labelArray.shape)")
    }
    let labels = try labelArray.integers(file: labelsFile)
    let shape: [Int]
    switch images.shape.count {
    case 3: shape = [images.shape[0], 1, images.shape[1], images.shape[2]]
    case 4: shape = images.shape
    default:
      throw ImportError(
        .invalidDataset, imagesFile, "images must be (N, H, W) or (N, C, H, W), found shape \(images.shape)")
    }
    guard shape[0] == labels.count else {
      throw ImportError(.invalidDataset, labelsFile, "\(labels.count) labels for \(shape[0]) images in \(imagesFile)")
    }
    let pixels: Pixels
    if images.kind == .uint && images.itemSize == 1 {
      pixels = .u8(images.data)
    } else {
      let values = images.doubles()
      if images.kind != .float && values.allSatisfy({ $0 >= 0 && $0 <= 255 }) {
        pixels = .u8(values.map { UInt8($0) })
      } else {
        pixels = .f32(values.map { Float($0) })
      }
    }
    return try Dataset(
      images: pixels, channels: shape[1], height: shape[2], width: shape[3], labels: labels,
      classes: classes, file: labelsFile)
  }
}
