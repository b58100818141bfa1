/// The IDX format of MNIST and Fashion-MNIST: two zero bytes, an element-type byte, a dimension
/// count byte, that many big-endian u32 dimensions, then the elements, big-endian, row-major.
public struct IDXArray: Equatable, Sendable {
  public enum ElementType: UInt8, Sendable {
    case u8 = 0x08
    case i8 = 0x09
    case i16 = 0x0B
    case i32 = 0x0C
    case f32 = 0x0D
    case f64 = 0x0E

    public var size: Int {
      switch self {
      case .u8, .i8: return 1
      case .i16: return 2
      case .i32, .f32: return 4
      case .f64: return 8
      }
    }
  }

  public var elementType: ElementType
  public var dims: [Int]
  /// The elements exactly as stored: big-endian.
  public var payload: [UInt8]

  /// Parses IDX bytes (already decompressed); `file` names the input in errors.
  public init(bytes: [UInt8], file: String, limits: ImportLimits = .standard) throws {
    let header = try Header(bytes, file: file, limits: limits)
    let found = bytes.count - header.size
    guard found == header.dataSize else {
      throw header.sizeError(String(found), file: file, short: found < header.dataSize)
    }
    self.init(elementType: header.type, dims: header.dims, payload: Array(bytes[header.size...]))
  }

  /// Reads an IDX file from a stream: the header first, then, once the size its dimensions claim
  /// has been checked against the limits and what the input can hold, the data.
  public init(stream: ArchiveStream) throws {
    let file = stream.name
    let magic = try stream.read(upTo: 4, what: "the IDX magic")
    let rank = magic.count == 4 ? Int(magic[3]) : 0
    let header = try Header(
      magic + (try stream.read(upTo: 4 * rank, what: "the IDX dimensions")), file: file, limits: stream.limits)
    if let declared = stream.declaredSize, declared - header.size != header.dataSize {
      throw header.sizeError(
        String(declared - header.size), file: file, short: declared - header.size < header.dataSize)
    }
    let payload = try stream.read(upTo: header.dataSize, what: "the IDX data")
    guard payload.count == header.dataSize else {
      throw header.sizeError(String(payload.count), file: file, short: true)
    }
    guard try stream.atEnd() else { throw header.sizeError("more", file: file, short: false) }
    self.init(elementType: header.type, dims: header.dims, payload: payload)
  }

  public init(elementType: ElementType, dims: [Int], payload: [UInt8]) {
    self.elementType = elementType
    self.dims = dims
    self.payload = payload
  }

  /// Reads an IDX file, gzip-compressed or not.
  public init(path: String, limits: ImportLimits = .standard) throws {
    self = try ArchiveInput.withDecompressed(path: path, limits: limits) { try IDXArray(stream: $0) }
  }

  /// The magic and dimensions at the start of an IDX file; the element count is checked against
  /// the limits before anything else is read.
  struct Header {
    var type: ElementType
    var dims: [Int]
    /// Bytes of magic and dimensions.
    var size: Int
    var dataSize: Int

    /// Parses the header from the start of `bytes`, which holds at least all of it unless the file is shorter.
    init(_ bytes: [UInt8], file: String, limits: ImportLimits) throws {
      guard bytes.count >= 4 else {
        throw ImportError(.unrecognised, file, "not an IDX file: \(bytes.count) bytes, shorter than the 4-byte magic")
      }
      guard bytes[0] == 0, bytes[1] == 0 else {
        throw ImportError(.unrecognised, file, "not an IDX file: the magic does not start with two zero bytes")
      }
      guard let type = ElementType(rawValue: bytes[2]) else {
        throw ImportError(.unsupported, file, "IDX element type 0x\(String(bytes[2], radix: 16)) is unknown")
      }
      let rank = Int(bytes[3])
      guard rank > 0 else { throw ImportError(.malformed, file, "IDX file has no dimensions") }
      let headerSize = 4 + 4 * rank
      guard bytes.count >= headerSize else {
        throw ImportError(
          .truncated,
          file, "IDX header with \(rank) dimensions needs \(headerSize) bytes, the file has \(bytes.count)")
      }
      let dims = (0..<rank).map { d in
        (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * d + $1]) }
      }
      guard let elements = checkedProduct(dims), elements <= limits.maxElements,
        let dataSize = checkedProduct([elements, type.size])
      else {
        throw ImportError(.limitExceeded, file, "IDX dimensions \(dims) are too large")
      }
      (self.type, self.dims, self.size, self.dataSize) = (type, dims, headerSize, dataSize)
    }

    func sizeError(_ found: String, file: String, short: Bool) -> ImportError {
      ImportError(
        short ? .truncated : .trailingData, file,
        "IDX data \(short ? "truncated" : "has trailing bytes"): dimensions \(dims) need \(dataSize) bytes of \(type), found \(found)"
      )
    }
  }

  /// The elements as integers (integer element types only).
  public func integers(file: String) throws -> [Int64] {
    let size = elementType.size
    return try payload.withUnsafeBufferPointer { bytes in
      switch elementType {
      case .u8: return bytes.map { Int64($0) }
      case .i8: return bytes.map { Int64(Int8(bitPattern: $0)) }
      case .i16, .i32:
        return stride(from: 0, to: bytes.count, by: size).map { start in
          let raw = (0..<size).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[start + $1]) }
          return size == 2 ? Int64(Int16(truncatingIfNeeded: raw)) : Int64(Int32(bitPattern: raw))
        }
      case .f32, .f64: throw ImportError(.invalidDataset, file, "IDX elements are \(elementType), not integers")
      }
    }
  }

  /// The elements as floats (every element type).
  public func floats(file: String) throws -> [Float] {
    switch elementType {
    case .f32:
      return stride(from: 0, to: payload.count, by: 4).map { start in
        Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(payload[start + $1]) })
      }
    case .f64:
      return stride(from: 0, to: payload.count, by: 8).map { start in
        Float(Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(payload[start + $1]) }))
      }
    default: return try integers(file: file).map { Float($0) }
    }
  }
}

extension Dataset {
  /// A dataset from an IDX image file (N, H, W) or (N, C, H, W) of u8 (kept as bytes) or floats,
  /// and an IDX label file (N) of integers; both gzip-compressed or not.
  public static func fromIDX(
    images imagesPath: String, labels labelsPath: String, classes: [String?] = [],
    limits: ImportLimits = .standard
  ) throws -> Dataset {
    try fromIDX(
      images: IDXArray(path: imagesPath, limits: limits), labels: IDXArray(path: labelsPath, limits: limits),
      imagesFile: imagesPath, labelsFile: labelsPath, classes: classes)
  }

  /// A dataset from parsed IDX arrays; the file names are for errors.
  public static func fromIDX(
    images: IDXArray, labels labelArray: IDXArray, imagesFile imagesPath: String,
    labelsFile labelsPath: String, classes: [String?] = []
  ) throws -> Dataset {
    guard labelArray.dims.count == 1 else {
      throw ImportError(.invalidDataset, labelsPath, "IDX labels must have one dimension, found \(labelArray.dims)")
    }
    let labels = try labelArray.integers(file: labelsPath)
    let shape: [Int]
    switch images.dims.count {
    case 3: shape = [images.dims[0], 1, images.dims[1], images.dims[2]]
    case 4: shape = images.dims
    default:
      throw ImportError(
        .invalidDataset, imagesPath, "IDX images must be (N, H, W) or (N, C, H, W), found \(images.dims)")
    }
    guard shape[0] == labels.count else {
      throw ImportError(.invalidDataset, labelsPath, "\(labels.count) labels for \(shape[0]) images in \(imagesPath)")
    }
    let pixels: Dataset.Pixels
    switch images.elementType {
    case .u8: pixels = .u8(images.payload)
    case .f32, .f64: pixels = .f32(try images.floats(file: imagesPath))
    default:
      throw ImportError(.invalidDataset, imagesPath, "IDX images must be u8 or floats, found \(images.elementType)")
    }
    return try Dataset(
      images: pixels, channels: shape[1], height: shape[2], width: shape[3], labels: labels,
      classes: classes, file: labelsPath)
  }
}
