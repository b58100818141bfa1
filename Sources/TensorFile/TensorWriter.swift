// Writing tensor files, plain safetensors or the compressed container, to a path (atomically, through
// OutputFile: a temporary file beside the target, renamed into place by `finish`) or to "-" (stdout). Tensors are
// declared up front, then their bytes are written one at a time in `tensors` order, so a file can
// stream to a pipe holding one tensor in memory.

public final class TensorWriter {
  public enum Format: Equatable, Sendable {
    case safetensors
    /// The .kst container; `level` is the zstd level (default 3).
    case compressed(level: Int)

    public static let compressed = Format.compressed(level: TensorWriter.defaultCompressionLevel)
  }

  /// zstd levels the compressed format accepts (negative: zstd's fast levels), and the default.
  public static var compressionLevels: ClosedRange<Int> { ZstdCodec.levelRange }
  public static let defaultCompressionLevel = ZstdCodec.defaultLevel

  public enum Order: Sendable {
    /// The reference writer's order (dtype widest first, then name), so every tensor is aligned
    /// to its element size.
    case aligned
    /// The order given: what a streaming copy from a pipe needs.
    case asGiven
  }

  /// The path as given ("-" for stdout).
  public let path: String
  public let format: Format
  /// The declared tensors in the order their bytes must be written.
  public let tensors: [TensorInfo]
  private let output: OutputFile
  /// The temporary file beside `path` that `finish` renames into place (removed on an error, an
  /// `abort`, SIGINT, SIGTERM or SIGHUP); nil when writing to stdout or a device, and once done.
  public var temporaryPath: String? { output.temporaryPath }
  private let container: ContainerWriter?
  private var written = 0
  private var finished = false

  public init(
    path: String, format: Format = .safetensors, metadata: [String: String] = [:],
    tensors declared: [TensorInfo], order: Order = .aligned
  ) throws {
    self.path = path
    self.format = format
    let name = path == "-" ? "<stdout>" : path
    var seen = Set<String>()
    for tensor in declared {
      guard tensor.name != "__metadata__" else {
        throw TensorFileError(.usage, file: name, tensor: tensor.name, "a tensor cannot be named __metadata__")
      }
      guard seen.insert(tensor.name).inserted else {
        throw TensorFileError(.usage, file: name, tensor: tensor.name, "declared twice")
      }
    }
    tensors = order == .aligned ? SafetensorsHeader.referenceOrder(declared) : declared
    switch format {
    case .safetensors:
      let header = try SafetensorsHeader.encode(metadata: metadata, tensors: tensors, file: name)
      output = try OutputFile(path: path)
      try output.write(header)
      container = nil
    case let .compressed(level):
      guard ZstdCodec.levelRange.contains(level) else {
        throw TensorFileError(.usage, file: name, "zstd level \(level) is outside \(ZstdCodec.levelRange)")
      }
      output = try OutputFile(path: path)
      container = try ContainerWriter(output: output, metadata: metadata, tensors: tensors, level: level)
    }
  }

  /// The name of the tensor whose bytes `write` expects next; nil when all are written.
  public var nextTensor: String? { written < tensors.count ? tensors[written].name : nil }

  /// Writes the next tensor's raw bytes (little-endian, row-major); `name` must be `nextTensor`.
  public func write(_ name: String, bytes: UnsafeRawBufferPointer) throws {
    guard !finished, written < tensors.count else {
      throw TensorFileError(.usage, file: output.displayName, tensor: name, "all declared tensors were already written")
    }
    let expected = tensors[written]
    guard name == expected.name else {
      throw TensorFileError(
        .usage, file: output.displayName, tensor: name, "written out of order: expected '\(expected.name)' next")
    }
    guard bytes.count == expected.byteCount else {
      throw TensorFileError(
        .usage, file: output.displayName, tensor: name,
        "got \(bytes.count) bytes, expected \(expected.byteCount) for \(expected.dtype.name) \(expected.shape)")
    }
    if let container { try container.append(bytes) } else { try output.write(bytes) }
    written += 1
  }

  public func write(_ name: String, bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { try write(name, bytes: $0) }
  }

  /// Completes the file: writes the .kst index, then renames the temporary file onto the target.
  public func finish() throws {
    guard !finished else { return }
    guard written == tensors.count else {
      throw TensorFileError(
        .usage, file: output.displayName, tensor: tensors[written].name,
        "finish called before this tensor (and any after it) was written")
    }
    try container?.finish()
    try output.commit()
    finished = true
  }

  /// Abandons the file: removes the temporary file, leaving any existing target untouched. Also
  /// what happens when a writer is released without `finish`.
  public func abort() {
    finished = true
    output.discard()
  }

  /// Writes a whole file from tensors held in memory, in any order.
  public static func write(
    path: String, format: Format = .safetensors, metadata: [String: String] = [:],
    tensors: [(info: TensorInfo, bytes: [UInt8])]
  ) throws {
    let writer = try TensorWriter(path: path, format: format, metadata: metadata, tensors: tensors.map(\.info))
    try writer.writeAll(tensors)
  }

  /// Writes the declared tensors from memory, given in any order, and finishes the file.
  public func writeAll(_ tensors: [(info: TensorInfo, bytes: [UInt8])]) throws {
    let byName = Dictionary(tensors.map { ($0.info.name, $0.bytes) }, uniquingKeysWith: { first, _ in first })
    for tensor in self.tensors { try write(tensor.name, bytes: byName[tensor.name]!) }
    try finish()
  }
}
