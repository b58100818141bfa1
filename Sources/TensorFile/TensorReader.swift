// Reading tensor files: plain safetensors, the compressed .kst container, and sharded checkpoints
// (`*.safetensors.index.json`), from a path or "-" (stdin). Opening reads only the header (and, for
// a seekable .kst, the index at its end); tensor data is read on request, one tensor at a time.

public final class TensorReader {
  public enum Format: String, Sendable {
    case safetensors
    case compressed = "kst"
    case sharded
  }

  /// The path as given ("-" for stdin).
  public let path: String
  public let format: Format
  public private(set) var metadata: [String: String]
  /// Every tensor, in file order (for sharded checkpoints: shard by shard).
  public private(set) var tensors: [TensorInfo]
  /// False for pipes: tensors can then only be visited once, in order, by `forEachTensor`.
  public var isSeekable: Bool {
    switch backend {
    case let .safetensors(input, _): return input.isSeekable
    case let .compressed(container): return container.input.isSeekable
    case .sharded: return true
    }
  }

  private enum Backend {
    case safetensors(InputFile, dataStart: Int)
    case compressed(ContainerReader)
    case sharded([TensorReader], shardOf: [String: Int])
  }

  private var backend: Backend
  private var positions: [String: Int] = [:]  // tensor name -> index in `tensors`
  private var streamConsumed = false

  /// Opens a tensor file; "-" reads standard input. The kind of file is recognised from its first
  /// bytes (a path ending in ".index.json" is a sharded checkpoint's index).
  public init(path: String) throws {
    self.path = path
    if path != "-" && path.hasSuffix(".index.json") {
      let (shards, shardOf, tensors, metadata) = try TensorReader.openShards(indexPath: path)
      self.format = .sharded
      self.backend = .sharded(shards, shardOf: shardOf)
      self.tensors = tensors
      self.metadata = metadata
    } else {
      let input = try InputFile(path: path)
      let prefix = try input.readUpTo(8)
      if prefix == ContainerFormat.magic {
        let container = try ContainerReader(input: input)
        self.format = .compressed
        self.backend = .compressed(container)
        self.tensors = container.tensors
        self.metadata = container.metadata
      } else {
        let (header, dataStart) = try TensorReader.readSafetensorsHeader(input, lengthPrefix: prefix)
        self.format = .safetensors
        self.backend = .safetensors(input, dataStart: dataStart)
        self.tensors = header.entries.map(\.info)
        self.metadata = header.metadata
        self.offsets = header.entries.map(\.begin)
      }
    }
    for (index, tensor) in tensors.enumerated() { positions[tensor.name] = index }
  }

  private var offsets: [Int] = []  // safetensors: each tensor's begin offset in the data buffer

  /// The description of one tensor, nil if the file has none of that name.
  public func info(_ name: String) -> TensorInfo? {
    positions[name].map { tensors[$0] }
  }

  private var displayName: String { path == "-" ? "<stdin>" : path }

  /// One tensor's raw bytes (little-endian, row-major), read without touching the others.
  /// Needs a seekable file; on a pipe use `forEachTensor`.
  public func bytes(of name: String) throws -> [UInt8] {
    guard let index = positions[name] else {
      throw TensorFileError(.noSuchTensor, file: displayName, tensor: name, "no tensor of that name in the file")
    }
    let info = tensors[index]
    switch backend {
    case let .safetensors(input, dataStart):
      guard input.isSeekable else {
        throw TensorFileError(
          .notSeekable, file: displayName, tensor: name,
          "random access needs a regular file; a pipe can only be read in order")
      }
      return try input.read(
        at: dataStart + offsets[index], count: info.byteCount,
        what: "the tensor's data", tensor: name)
    case let .compressed(container):
      guard container.input.isSeekable else {
        throw TensorFileError(
          .notSeekable, file: displayName, tensor: name,
          "random access needs a regular file; a pipe can only be read in order")
      }
      return try container.bytes(ofTensorAt: index)
    case let .sharded(shards, shardOf):
      return try shards[shardOf[name]!].bytes(of: name)
    }
  }

  /// One tensor converted to Float (from F16, BF16, F32 or F64).
  public func floats(of name: String) throws -> [Float] {
    let bytes = try bytes(of: name)
    return try FloatConversion.floats(
      from: bytes, dtype: tensors[positions[name]!].dtype, file: displayName, tensor: name)
  }

  /// Visits every tensor once, in file order, with its raw bytes; works on pipes. Memory holds one
  /// tensor at a time. On a pipe this can be called only once; it also checks that nothing follows
  /// the last tensor.
  public func forEachTensor(_ body: (TensorInfo, [UInt8]) throws -> Void) throws {
    switch backend {
    case let .safetensors(input, dataStart):
      if input.isSeekable {
        for (index, info) in tensors.enumerated() {
          try body(
            info,
            try input.read(
              at: dataStart + offsets[index], count: info.byteCount,
              what: "the tensor's data", tensor: info.name))
        }
        return
      }
      try claimStream()
      for info in tensors {
        try body(info, try input.readNext(info.byteCount, what: "the tensor's data", tensor: info.name))
      }
      guard try input.atEnd() else {
        throw TensorFileError(
          .metadataIncompleteBuffer, file: displayName,
          "incomplete metadata, file not fully covered: bytes follow the last tensor")
      }
    case let .compressed(container):
      if !container.input.isSeekable { try claimStream() }
      try container.forEachTensor { index, bytes in
        tensors[index].storedByteCount = container.tensors[index].storedByteCount
        try body(tensors[index], bytes)
      }
    case let .sharded(shards, _):
      for shard in shards { try shard.forEachTensor(body) }
    }
  }

  private func claimStream() throws {
    guard !streamConsumed else {
      throw TensorFileError(.notSeekable, file: displayName, "a pipe can be read only once")
    }
    streamConsumed = true
  }

  // MARK: Opening

  /// Reads and validates a safetensors header whose first 8 bytes (`lengthPrefix`) were read already.
  private static func readSafetensorsHeader(_ input: InputFile, lengthPrefix: [UInt8]) throws
    -> (SafetensorsHeader, dataStart: Int)
  {
    let file = input.displayName
    guard lengthPrefix.count == 8 else {
      throw TensorFileError(
        .headerTooSmall, file: file,
        "header too small: \(lengthPrefix.count) bytes, expected at least the 8-byte header length")
    }
    let length = readLittleEndian(lengthPrefix)
    guard length <= UInt64(SafetensorsHeader.maxHeaderSize) else {
      throw TensorFileError(
        .headerTooLarge, file: file,
        "header too large: \(length) bytes, the limit is \(SafetensorsHeader.maxHeaderSize)")
    }
    let headerLength = Int(length)
    if let size = input.size, headerLength > size - 8 {
      throw TensorFileError(
        .invalidHeaderLength, file: file,
        "invalid header length \(headerLength): the file has only \(size - 8) bytes after the length")
    }
    let headerBytes: [UInt8]
    do {
      headerBytes = try input.readNext(headerLength, what: "the header")
    } catch let error as TensorFileError where error.kind == .truncated {
      throw TensorFileError(.invalidHeaderLength, file: file, "invalid header length \(headerLength): \(error.message)")
    }
    let header = try SafetensorsHeader.parse(headerBytes, file: file)
    let dataStart = 8 + headerLength
    if let size = input.size, header.dataSize != size - dataStart {
      let detail =
        header.dataSize > size - dataStart
        ? "the file is truncated: tensors need \(header.dataSize) data bytes, it has \(size - dataStart)"
        : "\(size - dataStart - header.dataSize) bytes follow the last tensor"
      throw TensorFileError(
        .metadataIncompleteBuffer, file: file, "incomplete metadata, file not fully covered: \(detail)")
    }
    return (header, dataStart)
  }

  /// Opens every shard named by a `model.safetensors.index.json` and checks the index against them:
  /// each listed tensor is in its shard, and each shard holds only tensors the index assigns to it.
  private static func openShards(indexPath: String) throws
    -> ([TensorReader], [String: Int], [TensorInfo], [String: String])
  {
    let input = try InputFile(path: indexPath)
    guard let size = input.size, size <= SafetensorsHeader.maxHeaderSize else {
      throw TensorFileError(
        .limitExceeded, file: indexPath,
        "index file must be a regular file under \(SafetensorsHeader.maxHeaderSize) bytes")
    }
    let bytes = try input.read(at: 0, count: size, what: "the index")
    guard let text = String(validating: bytes, as: UTF8.self),
      case let .object(members)? = try? JSON(parsing: text, file: indexPath),
      case let .object(weightMap)? = members.last(where: { $0.key == "weight_map" })?.value
    else {
      throw TensorFileError(
        .invalidHeaderDeserialization, file: indexPath,
        "not a sharded-checkpoint index: expected a JSON object with a \"weight_map\" object")
    }
    let directory = indexPath.lastIndex(of: "/").map { String(indexPath[...$0]) } ?? ""
    var shardNames: [String] = []
    var assigned: [String: String] = [:]
    for (tensor, value) in weightMap {
      guard case let .string(shard) = value, !shard.isEmpty, !shard.hasPrefix("/"),
        !shard.split(separator: "/").contains("..")
      else {
        throw TensorFileError(
          .invalidHeaderDeserialization, file: indexPath, tensor: tensor,
          "weight_map value must be a shard file name beside the index")
      }
      guard assigned.updateValue(shard, forKey: tensor) == nil else {
        throw TensorFileError(
          .invalidHeaderDeserialization, file: indexPath, tensor: tensor, "listed twice in weight_map")
      }
      if !shardNames.contains(shard) { shardNames.append(shard) }
    }
    shardNames.sort()
    var shards: [TensorReader] = []
    var shardOf: [String: Int] = [:]
    var tensors: [TensorInfo] = []
    var metadata: [String: String] = [:]
    for (number, shardName) in shardNames.enumerated() {
      // Checked before it is opened: an index naming itself (or another that names it back) would
      // otherwise be opened again and again until the stack overflows.
      guard !shardName.hasSuffix(".index.json") else {
        throw TensorFileError(.invalidHeaderDeserialization, file: indexPath, "shard \(shardName) is itself an index")
      }
      let shard = try TensorReader(path: directory + shardName)
      for tensor in shard.tensors {
        guard assigned[tensor.name] == shardName else {
          throw TensorFileError(
            .invalidHeaderDeserialization, file: shard.path, tensor: tensor.name,
            assigned[tensor.name].map { "the index assigns it to \($0)" } ?? "not listed in \(indexPath)")
        }
        guard shardOf.updateValue(number, forKey: tensor.name) == nil else {
          throw TensorFileError(
            .invalidHeaderDeserialization, file: shard.path, tensor: tensor.name, "appears in two shards")
        }
        tensors.append(tensor)
      }
      metadata.merge(shard.metadata) { first, _ in first }
      shards.append(shard)
    }
    if let missing = assigned.keys.first(where: { shardOf[$0] == nil }) {
      throw TensorFileError(
        .noSuchTensor, file: directory + assigned[missing]!, tensor: missing,
        "listed in \(indexPath) but absent from its shard")
    }
    return (shards, shardOf, tensors, metadata)
  }
}
