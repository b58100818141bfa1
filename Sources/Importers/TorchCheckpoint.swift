import TensorFile

/// PyTorch checkpoints in torch.save's zip format (PyTorch 1.6 and later: `.pt`, `.pth`, `.bin`,
/// `.ckpt`): a zip holding `<name>/data.pkl` (a pickle of the state dict whose tensors point at
/// storages by key) and `<name>/data/<key>` (each storage's raw bytes). The pickle is interpreted
/// without running any of its code, and may name only the globals in `allowedGlobals` (what
/// torch.save writes for tensors and state dicts; Formats/pytorch-checkpoint.md): dicts, lists,
/// tuples, OrderedDicts and tensors are understood; numbers and strings are left out; anything
/// else is refused by name. Storages are read only after the pickle has said how large each is.
public enum TorchCheckpoint {
  /// The tensors of the checkpoint at `path`, named by their key path in the pickled object
  /// (nested dicts and lists joined with "."), in pickle order.
  public static func read(path: String, limits: ImportLimits = .standard) throws -> ImportedTensors {
    guard ArchiveInput.isZip(path: path) else { throw notZip(path) }
    return try read(file: path, limits: limits) { try ArchiveInput.forEachZipMember(path: path, limits: limits, $0) }
  }

  /// The same for a checkpoint in memory (e.g. a member of a wheel); `name` is used in errors.
  public static func read(bytes: [UInt8], name: String, limits: ImportLimits = .standard) throws -> ImportedTensors {
    guard bytes.starts(with: [0x50, 0x4B, 3, 4]) else { throw notZip(name) }
    return try read(file: name, limits: limits) {
      try ArchiveInput.forEachZipMember(bytes: bytes, name: name, limits: limits, $0)
    }
  }

  private static func notZip(_ file: String) -> ImportError {
    ImportError(
      .unrecognised,
      file,
      "not a zip-format PyTorch checkpoint (the format before PyTorch 1.6 is a bare pickle; re-save it with a current torch.save)"
    )
  }

  /// Three passes over the archive's members: their names, then the pickle (and byte order), then
  /// only the storages the pickle's tensors use, each checked against its declared size first.
  private static func read(
    file path: String, limits: ImportLimits, members visit: ((String, ArchiveStream) throws -> Bool) throws -> Void
  ) throws -> ImportedTensors {
    var names: [String] = []
    try visit { name, _ in
      names.append(name)
      return true
    }
    guard let pickleName = names.filter({ $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }).min() else {
      throw ImportError(.unrecognised, path, "no data.pkl in the archive: not a PyTorch checkpoint")
    }
    let prefix = String(pickleName.dropLast("data.pkl".count))
    var pickle: [UInt8] = []
    var order: [UInt8]?
    try visit { name, stream in
      if name == pickleName { pickle = try stream.readToEnd() }
      if name == prefix + "byteorder" { order = try stream.read(upTo: 16, what: "the byte order") }
      return true
    }
    if let order, String(decoding: order, as: UTF8.self) != "little" {
      throw ImportError(.unsupported, path, "checkpoint saved on a big-endian machine; only little-endian is supported")
    }
    var tensors: [TorchTensor] = []
    let root = try load(pickle, file: "\(path):\(pickleName)", limits: limits, tensors: &tensors)
    var walk = Walk(budget: pickle.count + 4096, tensors: tensors.count, file: path)
    try walk.collect(root, name: "", depth: 0)
    guard !walk.named.isEmpty else { throw ImportError(.notFound, path, "the checkpoint holds no tensors") }

    // What the storages must hold, from the pickle; and what the tensors will take, at most twice
    // that (views of one storage may overlap, as a tensor saved with its transpose does, and a view
    // with stride 0 repeats elements: a few bytes of pickle must not make terabytes of copies).
    var sizes: [String: (bytes: Int, user: Int)] = [:]
    var viewBytes = 0
    for index in walk.used {
      let tensor = tensors[index]
      let member = prefix + "data/" + tensor.key
      if let known = sizes[member], known.bytes != tensor.storageBytes {
        throw ImportError(.malformed, path, "storage \(tensor.key) is described with two different sizes")
      }
      sizes[member] = (tensor.storageBytes, index)
      let bytes = try tensor.checkedCount(name: walk.name(of: index), file: path) * (tensor.dtype.byteWidth ?? 1)
      viewBytes = viewBytes.addingReportingOverflow(bytes).overflow ? Int.max : viewBytes + bytes
    }
    let storageBytes = sizes.values.reduce(0) {
      $0.addingReportingOverflow($1.bytes).overflow ? Int.max : $0 + $1.bytes
    }
    guard viewBytes / 2 <= storageBytes else {
      throw ImportError(
        .limitExceeded,
        path, "the tensors take \(viewBytes) bytes, more than twice the \(storageBytes) bytes of the storages they view"
      )
    }
    var storages: [String: [UInt8]] = [:]
    try visit { name, stream in
      guard let (size, user) = sizes[name], storages[name] == nil else { return true }
      let tensor = tensors[user]
      func mismatch(_ found: String) -> ImportError {
        ImportError(
          .malformed,
          path,
          "tensor \(walk.name(of: user)): storage \(tensor.key) has \(found) bytes, the pickle says \(tensor.storageElements) elements of \(tensor.dtype.name)"
        )
      }
      if let declared = stream.declaredSize, declared != size { throw mismatch(String(declared)) }
      let bytes = try stream.read(upTo: size, what: "storage \(tensor.key)")
      guard bytes.count == size else { throw mismatch(String(bytes.count)) }
      guard try stream.atEnd() else { throw mismatch("more than \(size)") }
      storages[name] = bytes
      return storages.count < sizes.count
    }
    // A tensor named more than once (tied weights) shares one copy of its data.
    var data: [Int: [UInt8]] = [:]
    var seen = Set<String>()
    let files = try walk.named.map { name, index -> (TensorInfo, [UInt8]) in
      guard seen.insert(name).inserted else { throw ImportError(.malformed, path, "two tensors are named \(name)") }
      let tensor = tensors[index]
      let storageName = prefix + "data/" + tensor.key
      guard let storage = storages[storageName] else {
        throw ImportError(.notFound, path, "tensor \(name): storage \(storageName) is missing from the archive")
      }
      if data[index] == nil { data[index] = try tensor.contiguousBytes(storage, name: name, file: path) }
      return (try TensorInfo(name: name, dtype: tensor.dtype, shape: tensor.size, file: path), data[index]!)
    }
    return ImportedTensors(metadata: ["format": "pt"], tensors: files)
  }

  /// Storage classes by the dtype they hold (the persistent ids of `_rebuild_tensor_v2`).
  static let storageTypes: [String: DType] = [
    "FloatStorage": .f32, "DoubleStorage": .f64, "HalfStorage": .f16, "BFloat16Storage": .bf16,
    "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8, "ByteStorage": .u8,
    "BoolStorage": .bool, "UInt16Storage": .u16, "UInt32Storage": .u32, "UInt64Storage": .u64,
    "Float8_e5m2Storage": .f8E5M2, "Float8_e4m3fnStorage": .f8E4M3,
  ]

  /// The dtypes `_rebuild_tensor_v3` names (torch's newer dtypes, on an untyped storage of bytes).
  static let untypedStorageDTypes: [String: DType] = [
    "uint16": .u16, "uint32": .u32, "uint64": .u64, "float8_e5m2": .f8E5M2, "float8_e4m3fn": .f8E4M3,
    "float8_e8m0fnu": .f8E8M0, "float8_e4m3fnuz": .f8E4M3FNUZ, "float8_e5m2fnuz": .f8E5M2FNUZ,
  ]

  /// Every global a checkpoint's pickle may name (as `module.name`); the first six may be called.
  static let allowedGlobals: Set<String> = Set(
    [
      "collections.OrderedDict", "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
      "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_parameter",
      "torch._utils._rebuild_parameter_with_state", "torch.storage.UntypedStorage",
    ] + storageTypes.keys.map { "torch." + $0 } + untypedStorageDTypes.keys.map { "torch." + $0 })

  /// Runs a checkpoint's pickle with the allowed globals; the tensors it describes are appended to
  /// `tensors` and stand in the result as handles.
  static func load(_ bytes: [UInt8], file: String, limits: ImportLimits, tensors: inout [TorchTensor]) throws
    -> PickleValue
  {
    try Pickle.load(bytes, file: file, allowed: allowedGlobals, maxValues: limits.maxPickleValues) {
      module, name, arguments in
      try rebuild(module, name, arguments, file: file, tensors: &tensors)
    }
  }

  /// Turns the calls torch.save pickles into values: OrderedDicts into dicts, tensor rebuilds into
  /// tensor references (kept in `tensors`, returned as handles into it); nil for any other call.
  private static func rebuild(
    _ module: String, _ name: String, _ arguments: [PickleValue], file: String,
    tensors: inout [TorchTensor]
  ) throws -> PickleValue? {
    switch (module, name) {
    case ("collections", "OrderedDict"):
      guard arguments.isEmpty else {
        throw ImportError(.unsupported, file, "collections.OrderedDict is called with arguments")
      }
      return .dict(PickleDict())
    case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"),
      ("torch._utils", "_rebuild_tensor_v3"):
      let v3 = name == "_rebuild_tensor_v3"
      guard arguments.count >= (v3 ? 7 : 4), case .persistent(let id) = arguments[0], let offset = arguments[1].int,
        let size = arguments[2].items?.map(\.int), let stride = arguments[3].items?.map(\.int),
        !size.contains(nil), !stride.contains(nil), size.count == stride.count
      else {
        throw ImportError(.malformed, file, "a tensor record in data.pkl is malformed")
      }
      let storage = id.items
      guard storage.count >= 5, storage[0].string == "storage",
        case .global(let storageModule, let typeName) = storage[1],
        let key = storage[2].string, let numel = storage[4].int, numel >= 0
      else {
        throw ImportError(.malformed, file, "a storage reference in data.pkl is malformed")
      }
      guard !key.isEmpty, !key.hasPrefix("."), key.utf8.count <= 64,
        key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") })
      else {
        throw ImportError(
          .unsafePickle, file, "a storage reference in data.pkl names '\(key)', not a storage in the archive")
      }
      let dtype: DType
      var elements = Int(numel)
      if v3 {
        guard storageModule == "torch.storage", typeName == "UntypedStorage",
          case .global("torch", let dtypeName) = arguments[6],
          let untypedDType = untypedStorageDTypes[dtypeName]
        else {
          throw ImportError(.malformed, file, "a tensor record in data.pkl is malformed")
        }
        dtype = untypedDType
        let width = dtype.byteWidth ?? 1
        guard elements % width == 0 else {
          throw ImportError(
            .malformed, file, "storage \(key) of \(elements) bytes does not hold whole \(dtype.name) elements")
        }
        elements /= width
      } else {
        guard storageModule == "torch", let typedDType = storageTypes[typeName] else {
          throw ImportError(.unsupported, file, "storage type \(storageModule).\(typeName) is not supported")
        }
        dtype = typedDType
      }
      guard checkedProduct([elements, dtype.byteWidth ?? 1]) != nil else {
        throw ImportError(.limitExceeded, file, "storage \(key) of \(elements) elements is too large")
      }
      tensors.append(
        TorchTensor(
          key: key, dtype: dtype, storageElements: elements, offset: Int(offset),
          size: size.map { Int($0!) }, stride: stride.map { Int($0!) }))
      return .handle(tensors.count - 1)
    case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
      guard let tensor = arguments.first, case .handle = tensor else {
        throw ImportError(.malformed, file, "a parameter record in data.pkl is malformed")
      }
      return tensor
    default:
      return nil
    }
  }

  /// Walks the unpickled object for tensors; dict keys and list positions make the names. Shared
  /// parts are walked once per reference, so the walk has a budget: a tree visits each value once,
  /// and each value takes at least a byte of the pickle, so a pickle that makes the walk longer than
  /// its own size (plus some room for shared parts) is nesting references to the same objects.
  private struct Walk {
    static let maxNameBytes = 1 << 16
    /// How often one tensor may be named (tied weights name one tensor two or three times).
    static let maxNamesPerTensor = 16
    var budget: Int
    let file: String
    var named: [(name: String, index: Int)] = []
    /// The tensors named, each once, in the order of their first names.
    var used: [Int] = []
    private var namesOf: [Int]
    private var firstName: [String?]

    init(budget: Int, tensors: Int, file: String) {
      self.budget = budget
      self.file = file
      self.namesOf = Array(repeating: 0, count: tensors)
      self.firstName = Array(repeating: nil, count: tensors)
    }

    /// The first name of a tensor the walk named.
    func name(of index: Int) -> String { firstName[index]! }

    mutating func collect(_ value: PickleValue, name: String, depth: Int) throws {
      guard depth < 32 else { throw ImportError(.limitExceeded, file, "data.pkl nests deeper than 32 levels") }
      budget -= 1
      guard budget >= 0 else {
        throw ImportError(
          .limitExceeded,
          file, "data.pkl refers to its parts more often than a pickle of its size can hold (shared references)")
      }
      func child(_ key: String) throws -> String {
        let path = name.isEmpty ? key : name + "." + key
        guard path.utf8.count <= Walk.maxNameBytes else {
          throw ImportError(.limitExceeded, file, "data.pkl makes a tensor name longer than \(Walk.maxNameBytes) bytes")
        }
        return path
      }
      switch value {
      case .dict(let dict):
        for (key, item) in dict.entries {
          let text: String
          switch key {
          case .string(let string): text = string
          case .int(let number): text = String(number)
          default: continue
          }
          try collect(item, name: child(text), depth: depth + 1)
        }
      case .list, .tuple:
        for (index, item) in (value.items ?? []).enumerated() {
          try collect(item, name: child(String(index)), depth: depth + 1)
        }
      case .handle(let index):
        namesOf[index] += 1
        guard namesOf[index] <= Walk.maxNamesPerTensor else {
          throw ImportError(
            .limitExceeded,
            file, "data.pkl names one tensor more than \(Walk.maxNamesPerTensor) times (shared references)")
        }
        let tensorName = name.isEmpty ? "tensor" : name
        if firstName[index] == nil {
          firstName[index] = tensorName
          used.append(index)
        }
        named.append((tensorName, index))
      default:
        return
      }
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

  /// Size of the whole storage in bytes (checked not to overflow when the record was read).
  var storageBytes: Int { storageElements * (dtype.byteWidth ?? 1) }

  /// The view's element count, after checking that every element it reaches lies inside the storage.
  func checkedCount(name: String, file: String) throws -> Int {
    guard let count = checkedProduct(size), checkedProduct([count, dtype.byteWidth ?? 1]) != nil else {
      throw ImportError(.limitExceeded, file, "tensor \(name): shape \(size) is too large")
    }
    if count == 0 { return 0 }
    // The furthest element the view reaches must lie inside the storage.
    var last = offset
    for (extent, step) in zip(size, stride) {
      guard step >= 0 else { throw ImportError(.malformed, file, "tensor \(name): negative stride \(step)") }
      let (reach, overflow) = (extent - 1).multipliedReportingOverflow(by: step)
      let (sum, sumOverflow) = last.addingReportingOverflow(reach)
      guard !overflow, !sumOverflow else { throw ImportError(.limitExceeded, file, "tensor \(name): strides overflow") }
      last = sum
    }
    guard offset >= 0, last < storageElements else {
      throw ImportError(
        .malformed,
        file,
        "tensor \(name): view (offset \(offset), shape \(size), stride \(stride)) reaches past its storage of \(storageElements) elements"
      )
    }
    return count
  }

  /// The view's elements gathered row-major (the storage may be shared, strided or larger).
  func contiguousBytes(_ storage: [UInt8], name: String, file: String) throws -> [UInt8] {
    let width = dtype.byteWidth ?? 1
    guard storage.count == storageElements * width else {
      throw ImportError(
        .malformed,
        file,
        "tensor \(name): storage \(key) has \(storage.count) bytes, the pickle says \(storageElements) elements of \(dtype.name)"
      )
    }
    let count = try checkedCount(name: name, file: file)
    if count == 0 { return [] }
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
