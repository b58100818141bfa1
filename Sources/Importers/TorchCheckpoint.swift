import TensorFile

/// PyTorch checkpoints in torch.save's zip format (PyTorch 1.6 and later: `.pt`, `.pth`, `.bin`,
/// `.ckpt`): a zip holding `<name>/data.pkl` (a pickle of the state dict whose tensors point at
/// storages by key) and `<name>/data/<key>` (each storage's raw bytes). The pickle is interpreted
/// without running any of its code: only dicts, lists, tuples, OrderedDicts and tensors
/// (`torch._utils._rebuild_tensor_v2`, `_rebuild_parameter`) are understood; anything else in the
/// file (numbers, strings, other objects) is left out.
public enum TorchCheckpoint {
  /// The tensors of the checkpoint at `path`, named by their key path in the pickled object
  /// (nested dicts and lists joined with "."), in pickle order.
  public static func read(path: String, limits: ImportLimits = .standard) throws -> ImportedTensors {
    guard ArchiveInput.isZip(path: path) else { throw notZip(path) }
    return try read(file: path, limits: limits) { try ArchiveInput.forEachZipMember(path: path, $0) }
  }

  /// The same for a checkpoint in memory (e.g. a member of a wheel); `name` is used in errors.
  public static func read(bytes: [UInt8], name: String, limits: ImportLimits = .standard) throws -> ImportedTensors {
    guard bytes.starts(with: [0x50, 0x4B, 3, 4]) else { throw notZip(name) }
    return try read(file: name, limits: limits) { try ArchiveInput.forEachZipMember(bytes: bytes, name: name, $0) }
  }

  private static func notZip(_ file: String) -> ImportError {
    ImportError(
      file,
      "not a zip-format PyTorch checkpoint (the format before PyTorch 1.6 is a bare pickle; re-save it with a current torch.save)"
    )
  }

  private static func read(
    file path: String, limits: ImportLimits,
    members visit: ((String, (ImportLimits) throws -> [UInt8]) throws -> Bool) throws -> Void
  ) throws -> ImportedTensors {
    var members: [String: [UInt8]] = [:]
    try visit { name, read in
      if name.hasSuffix("data.pkl") || name.contains("/data/") || name.hasPrefix("data/") || name.hasSuffix("byteorder")
      {
        members[name] = try read(limits)
      }
      return true
    }
    guard let pickleName = members.keys.filter({ $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }).min() else {
      throw ImportError(path, "no data.pkl in the archive: not a PyTorch checkpoint")
    }
    let prefix = String(pickleName.dropLast("data.pkl".count))
    if let order = members[prefix + "byteorder"], String(decoding: order, as: UTF8.self) != "little" {
      throw ImportError(path, "checkpoint saved on a big-endian machine; only little-endian is supported")
    }
    var tensors: [TorchTensor] = []
    let root = try Pickle.load(members[pickleName]!, file: "\(path):\(pickleName)") { module, name, arguments in
      try rebuild(module, name, arguments, file: path, tensors: &tensors)
    }
    var named: [(name: String, tensor: TorchTensor)] = []
    try collect(root, name: "", depth: 0, tensors: tensors, into: &named, file: path)
    guard !named.isEmpty else { throw ImportError(path, "the checkpoint holds no tensors") }
    var seen = Set<String>()
    let files = try named.map { name, tensor -> (TensorInfo, [UInt8]) in
      guard seen.insert(name).inserted else { throw ImportError(path, "two tensors are named \(name)") }
      let storageName = prefix + "data/" + tensor.key
      guard let storage = members[storageName] else {
        throw ImportError(path, "tensor \(name): storage \(storageName) is missing from the archive")
      }
      return (
        try TensorInfo(name: name, dtype: tensor.dtype, shape: tensor.size, file: path),
        try tensor.contiguousBytes(storage, name: name, file: path)
      )
    }
    return ImportedTensors(metadata: ["format": "pt"], tensors: files)
  }

  /// Storage classes by the dtype they hold.
  static let storageTypes: [String: DType] = [
    "FloatStorage": .f32, "DoubleStorage": .f64, "HalfStorage": .f16, "BFloat16Storage": .bf16,
    "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8, "ByteStorage": .u8,
    "BoolStorage": .bool, "UInt16Storage": .u16, "UInt32Storage": .u32, "UInt64Storage": .u64,
    "Float8_e5m2Storage": .f8E5M2, "Float8_e4m3fnStorage": .f8E4M3,
  ]

  /// Turns the calls torch.save pickles into values: OrderedDicts into dicts, tensor rebuilds into
  /// tensor references (kept in `tensors`, returned as `.int` indices into it).
  private static func rebuild(
    _ module: String, _ name: String, _ arguments: [PickleValue], file: String,
    tensors: inout [TorchTensor]
  ) throws -> PickleValue? {
    switch (module, name) {
    case ("collections", "OrderedDict"):
      return .dict(PickleDict())
    case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
      guard arguments.count >= 4, case .persistent(let id) = arguments[0], let offset = arguments[1].int,
        let size = arguments[2].items?.map(\.int), let stride = arguments[3].items?.map(\.int),
        !size.contains(nil), !stride.contains(nil), size.count == stride.count
      else {
        throw ImportError(file, "a tensor record in data.pkl is malformed")
      }
      guard let storage = id.items, storage.count >= 5, storage[0].string == "storage",
        case .global(_, let typeName) = storage[1], let key = storage[2].string, let numel = storage[4].int
      else {
        throw ImportError(file, "a storage reference in data.pkl is malformed")
      }
      guard let dtype = storageTypes[typeName] else {
        throw ImportError(file, "storage type \(typeName) is not supported")
      }
      tensors.append(
        TorchTensor(
          key: key, dtype: dtype, storageElements: Int(numel), offset: Int(offset),
          size: size.map { Int($0!) }, stride: stride.map { Int($0!) }))
      return .handle(tensors.count - 1)
    case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
      guard let tensor = arguments.first else { throw ImportError(file, "a parameter record in data.pkl is malformed") }
      return tensor
    default:
      return nil
    }
  }

  /// Walks the unpickled object for tensors; dict keys and list positions make the names.
  private static func collect(
    _ value: PickleValue, name: String, depth: Int, tensors: [TorchTensor],
    into named: inout [(name: String, tensor: TorchTensor)], file: String
  ) throws {
    guard depth < 32 else { throw ImportError(file, "data.pkl nests deeper than 32 levels") }
    func child(_ key: String) -> String { name.isEmpty ? key : name + "." + key }
    switch value {
    case .dict(let dict):
      for (key, item) in dict.entries {
        let text: String
        switch key {
        case .string(let string): text = string
        case .int(let number): text = String(number)
        default: continue
        }
        try collect(item, name: child(text), depth: depth + 1, tensors: tensors, into: &named, file: file)
      }
    case .list, .tuple:
      for (index, item) in (value.items ?? []).enumerated() {
        try collect(item, name: child(String(index)), depth: depth + 1, tensors: tensors, into: &named, file: file)
      }
    case .handle(let index):
      named.append((name.isEmpty ? "tensor" : name, tensors[index]))
    default:
      return
    }
  }
}

/// One tensor of a checkpoint: a strided view of a storage.
struct TorchTensor {
  let key: String
  let dtype: DType
  let storageElements: Int
  let offset: Int
  let size: [Int]
  let stride: [Int]

  /// The view's elements gathered row-major (the storage may be shared, strided or larger).
  func contiguousBytes(_ storage: [UInt8], name: String, file: String) throws -> [UInt8] {
    let width = dtype.byteWidth ?? 1
    guard storage.count == storageElements * width else {
      throw ImportError(
        file,
        "tensor \(name): storage \(key) has \(storage.count) bytes, the pickle says \(storageElements) elements of \(dtype.name)"
      )
    }
    guard let count = checkedProduct(size) else {
      throw ImportError(file, "tensor \(name): shape \(size) is too large")
    }
    if count == 0 { return [] }
    // The furthest element the view reaches must lie inside the storage.
    var last = offset
    for (extent, step) in zip(size, stride) {
      guard step >= 0 else { throw ImportError(file, "tensor \(name): negative stride \(step)") }
      let (reach, overflow) = (extent - 1).multipliedReportingOverflow(by: step)
      guard !overflow else { throw ImportError(file, "tensor \(name): strides overflow") }
      last += reach
    }
    guard offset >= 0, last < storageElements else {
      throw ImportError(
        file,
        "tensor \(name): view (offset \(offset), shape \(size), stride \(stride)) reaches past its storage of \(storageElements) elements"
      )
    }
    let rowMajor = size.indices.reversed().reduce(into: [Int](repeating: 1, count: size.count)) { strides, axis in
      if axis < size.count - 1 { strides[axis] = strides[axis + 1] * size[axis + 1] }
    }
    if stride == rowMajor || size.count == 0 {
      return Array(storage[offset * width..<(offset + count) * width])
    }
    return gatherRowMajor(storage, itemSize: width, shape: size, strides: stride, offset: offset)
  }
}

/// The elements of a strided view of `storage` (starting at element `offset`, `strides` in elements
/// per axis) copied out in row-major order, last axis fastest. The caller has checked that the view
/// lies inside `storage`. Used for PyTorch views and numpy's Fortran-order arrays.
func gatherRowMajor(_ storage: [UInt8], itemSize: Int, shape: [Int], strides: [Int], offset: Int = 0) -> [UInt8] {
  let count = shape.reduce(1, *)
  var out = [UInt8](repeating: 0, count: count * itemSize)
  var index = [Int](repeating: 0, count: shape.count)
  var source = offset
  storage.withUnsafeBufferPointer { from in
    out.withUnsafeMutableBufferPointer { to in
      for element in 0..<count {
        for byte in 0..<itemSize { to[element * itemSize + byte] = from[source * itemSize + byte] }
        // Advance the row-major multi-index, last axis fastest.
        var axis = shape.count - 1
        while axis >= 0 {
          index[axis] += 1
          source += strides[axis]
          if index[axis] < shape[axis] { break }
          source -= strides[axis] * shape[axis]
          index[axis] = 0
          axis -= 1
        }
      }
    }
  }
  return out
}
