import TensorFile

/// Tensors made in memory by an importer, ready for a TensorWriter: infos in order, raw
/// little-endian bytes by name, and the file's metadata.
public final class ImportedTensors {
  public let metadata: [String: String]
  public let tensors: [TensorInfo]
  /// Whether the tensors come from a compressed (.kst) file, whose form a copy keeps by default.
  public var fromCompressedFile = false
  private let data: [String: [UInt8]]

  public init(metadata: [String: String], tensors: [(info: TensorInfo, bytes: [UInt8])]) {
    self.metadata = metadata
    self.tensors = tensors.map(\.info)
    self.data = Dictionary(tensors.map { ($0.info.name, $0.bytes) }, uniquingKeysWith: { first, _ in first })
  }

  /// One tensor's bytes; `file` names the input in the error for an unknown name.
  public func bytes(of name: String, file: String) throws -> [UInt8] {
    guard let bytes = data[name] else { throw ImportError(.notFound, file, "no tensor named \(name)") }
    return bytes
  }

  /// Writes every tensor to `writer` in the order it expects.
  public func write(to writer: TensorWriter, file: String) throws {
    for info in writer.tensors { try writer.write(info.name, bytes: bytes(of: info.name, file: file)) }
  }

  /// Numpy arrays as tensors of the same dtype, shape and bytes.
  public convenience init(
    arrays: [(name: String, array: NumpyArray)], metadata: [String: String] = [:],
    file: String
  ) throws {
    var seen = Set<String>()
    let tensors = try arrays.map { name, array in
      guard seen.insert(name).inserted else { throw ImportError(.malformed, file, "two arrays are named \(name)") }
      guard let dtype = DType(name: array.dtypeName) else {
        throw ImportError(.unsupported, file, "array \(name): dtype \(array.dtypeName) has no tensor-file equivalent")
      }
      return (try TensorInfo(name: name, dtype: dtype, shape: array.shape, file: file), array.data)
    }
    self.init(metadata: metadata, tensors: tensors)
  }
}

extension Dataset.Pixels {
  /// The pixels as a tensor stores them: their dtype and little-endian bytes.
  var stored: (dtype: DType, bytes: [UInt8]) {
    switch self {
    case .u8(let values): return (.u8, values)
    case .f32(let values): return (.f32, values.withUnsafeBytes { [UInt8]($0) })  // Swift's Float is IEEE, little-endian here
    }
  }
}

extension Dataset {
  /// The dataset as tensors `images` (N, C, H, W) U8/F32 and `labels` (N) I64 with its metadata
  /// (Formats/dataset.md); `extra` metadata keys are kept unless the dataset sets them.
  public func tensors(extra: [String: String] = [:], file: String) throws -> ImportedTensors {
    let (dtype, imageBytes) = images.stored
    let labelBytes = labels.map { $0.littleEndian }.withUnsafeBytes { [UInt8]($0) }
    return ImportedTensors(
      metadata: metadata(extra: extra),
      tensors: [
        (
          try TensorInfo(
            name: DatasetLayout.images, dtype: dtype, shape: [count, channels, height, width], file: file), imageBytes
        ),
        (try TensorInfo(name: DatasetLayout.labels, dtype: .i64, shape: [count], file: file), labelBytes),
      ])
  }

  /// Reads a dataset file (Formats/dataset.md) through an open TensorReader, checking its layout.
  public init(reader: TensorReader) throws {
    let file = reader.path
    guard let imagesInfo = reader.info(DatasetLayout.images), let labelsInfo = reader.info(DatasetLayout.labels) else {
      throw ImportError(.invalidDataset, file, "not a dataset: it needs tensors \"images\" and \"labels\"")
    }
    if let other = reader.tensors.first(where: { $0.name != DatasetLayout.images && $0.name != DatasetLayout.labels }) {
      throw ImportError(
        .invalidDataset, file, "not a dataset: unexpected tensor \"\(other.name)\" besides images and labels")
    }
    guard imagesInfo.shape.count == 4, imagesInfo.dtype == .u8 || imagesInfo.dtype == .f32 else {
      throw ImportError(
        .invalidDataset,
        file, "tensor images must be U8 or F32 (N, C, H, W), found \(imagesInfo.dtype.name) \(imagesInfo.shape)")
    }
    guard labelsInfo.shape.count == 1, labelsInfo.dtype == .i64 else {
      throw ImportError(
        .invalidDataset, file, "tensor labels must be I64 (N), found \(labelsInfo.dtype.name) \(labelsInfo.shape)")
    }
    var imageBytes: [UInt8] = []
    var labelBytes: [UInt8] = []
    try reader.forEachTensor { info, bytes in
      if info.name == DatasetLayout.images { imageBytes = bytes } else { labelBytes = bytes }
    }
    let labels = labelBytes.withUnsafeBytes { raw in
      (0..<labelsInfo.elementCount).map {
        Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))
      }
    }
    let pixels: Pixels =
      imagesInfo.dtype == .u8
      ? .u8(imageBytes)
      : .f32(
        imageBytes.withUnsafeBytes { raw in
          (0..<imagesInfo.elementCount).map {
            Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
          }
        })
    let parsed = try Self.parseMetadata(reader.metadata, file: file)
    let shape = imagesInfo.shape
    guard shape[0] == labels.count else {
      throw ImportError(.invalidDataset, file, "\(labels.count) labels for \(shape[0]) images")
    }
    try self.init(
      images: pixels, channels: shape[1], height: shape[2], width: shape[3], labels: labels,
      classes: parsed.classes, mean: parsed.mean, std: parsed.std, source: parsed.source,
      split: parsed.split, file: file)
  }
}
