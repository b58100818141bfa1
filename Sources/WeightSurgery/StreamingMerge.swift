// kswap-merge's work: check adapters against the base's header, then stream the base through,
// one tensor in memory at a time, adding (or subtracting) the LoRA updates in float32 and
// rounding once to the output dtype.

import TensorFile

public struct MergeOptions: Sendable {
  /// One factor per adapter (empty: 1 each).
  public var weights: [Double] = []
  /// Output dtype of every float tensor; nil keeps each tensor's.
  public var dtype: DType?
  public var unmerge = false
  /// Merge despite a recorded base fingerprint that differs from the base's.
  public var ignoreFingerprint = false

  public init(weights: [Double] = [], dtype: DType? = nil, unmerge: Bool = false, ignoreFingerprint: Bool = false) {
    self.weights = weights
    self.dtype = dtype
    self.unmerge = unmerge
    self.ignoreFingerprint = ignoreFingerprint
  }
}

public final class StreamingMerge {
  enum Action {
    case copy
    case update([LowRankTerm], rows: Int, columns: Int)
    /// Index of the adapter whose full tensor replaces the base's.
    case replace(adapter: Int, bytes: [UInt8], dtype: DType)
  }

  public let base: TensorReader
  public let adapters: [AdapterFile]
  public let options: MergeOptions
  /// The merged file's tensors, in the base's order.
  public private(set) var outputTensors: [TensorInfo] = []
  public private(set) var outputMetadata: [String: String]
  /// Human notes (full tensors kept by --unmerge, fingerprint overridden); the command prints them.
  public private(set) var notes: [String] = []
  private var actions: [String: Action] = [:]
  private var baseName: String { base.path == "-" ? "<stdin>" : base.path }

  /// Checks every adapter against the base's header; throws at the first mismatch.
  public init(base: TensorReader, adapters: [AdapterFile], options: MergeOptions) throws {
    self.base = base
    self.adapters = adapters
    self.options = options
    self.outputMetadata = base.metadata
    guard options.weights.isEmpty || options.weights.count == adapters.count else {
      throw SurgeryError(
        .invalidOption,
        baseName, "\(options.weights.count) --weight values for \(adapters.count) adapters; give one per adapter")
    }
    if let dtype = options.dtype, !dtype.isConvertibleFloat {
      throw SurgeryError(
        .invalidOption, baseName, "--dtype \(dtype.name) is not a float type; expected F32, F16, BF16 or F64")
    }
    var terms: [String: [LowRankTerm]] = [:]
    var shapes: [String: (rows: Int, columns: Int)] = [:]
    for (index, adapter) in adapters.enumerated() {
      let weight = options.weights.isEmpty ? 1 : options.weights[index]
      for module in adapter.modules {
        let target = module.module + ".weight"
        guard let info = base.info(target) else {
          throw SurgeryError(
            .mismatch,
            adapter.source, tensor: AdapterNames.loraA(module.module),
            "the base \(baseName) has no tensor \(target) to merge into")
        }
        guard info.dtype.isConvertibleFloat, info.shape.count >= 2 else {
          throw SurgeryError(
            .mismatch,
            adapter.source, tensor: AdapterNames.loraA(module.module),
            "the base's \(target) is \(info.dtype.name) \(info.shape); LoRA merges into float matrices")
        }
        let rows = info.shape[0], columns = info.shape.dropFirst().reduce(1, *)
        let expectedA = [module.rank] + info.shape.dropFirst()
        guard module.aShape == expectedA else {
          throw SurgeryError(
            .mismatch,
            adapter.source, tensor: AdapterNames.loraA(module.module),
            "shape \(module.aShape) does not fit the base's \(target) \(info.shape): expected \(expectedA)")
        }
        guard module.bShape[0] == rows else {
          throw SurgeryError(
            .mismatch,
            adapter.source, tensor: AdapterNames.loraB(module.module),
            "shape \(module.bShape) does not fit the base's \(target) \(info.shape): expected [\(rows), \(module.rank)]"
          )
        }
        let factor = Float(weight * module.scale)
        terms[target, default: []].append(LowRankTerm(rank: module.rank, a: module.a, b: module.b, factor: factor))
        shapes[target] = (rows, columns)
      }
    }
    for (target, list) in terms {
      actions[target] = .update(list, rows: shapes[target]!.rows, columns: shapes[target]!.columns)
    }

    var replaced: [String: TensorInfo] = [:]
    for (index, adapter) in adapters.enumerated() {
      for (info, bytes) in adapter.fullTensors {
        guard let baseInfo = base.info(info.name) else {
          throw SurgeryError(
            .mismatch,
            adapter.source, tensor: AdapterNames.full(info.name),
            "the base \(baseName) has no tensor \(info.name) to replace")
        }
        guard info.shape.count == baseInfo.shape.count, info.shape.dropFirst() == baseInfo.shape.dropFirst(),
          (info.shape.first ?? 0) >= (baseInfo.shape.first ?? 0)
        else {
          throw SurgeryError(
            .mismatch,
            adapter.source, tensor: AdapterNames.full(info.name),
            "shape \(info.shape) does not fit the base's \(baseInfo.shape): a full tensor has the base's shape, or more rows"
          )
        }
        if terms[info.name] != nil {
          throw SurgeryError(
            .mismatch,
            adapter.source, tensor: AdapterNames.full(info.name), "the adapters both update and replace \(info.name)")
        }
        if options.unmerge {
          notes.append("\(info.name): replaced by \(adapter.source) when merged; --unmerge keeps it as it is")
          continue
        }
        let dtype = info.dtype.isConvertibleFloat ? (options.dtype ?? baseInfo.dtype) : info.dtype
        actions[info.name] = .replace(adapter: index, bytes: bytes, dtype: dtype)
        replaced[info.name] = try TensorInfo(name: info.name, dtype: dtype, shape: info.shape, file: adapter.source)
      }
      for (key, value) in adapter.modelMetadata { outputMetadata[key] = value }
    }
    outputTensors = try base.tensors.map { info in
      if let replacement = replaced[info.name] { return replacement }
      let dtype = info.dtype.isConvertibleFloat ? (options.dtype ?? info.dtype) : info.dtype
      return try TensorInfo(name: info.name, dtype: dtype, shape: info.shape, file: baseName)
    }
  }

  /// Streams the base into `writer` (declared with `outputTensors`, in that order for a pipe).
  /// Checks the base fingerprint before the last tensor is written, so a mismatch never leaves a
  /// complete output. Does not call `writer.finish()`.
  public func run(into writer: TensorWriter, progress: (Int, Int) -> Void = { _, _ in }) throws {
    var fingerprint = BaseFingerprint()
    let expected = adapters.compactMap { adapter in adapter.baseFingerprint.map { (adapter.source, $0) } }
    let outputInfo = Dictionary(uniqueKeysWithValues: outputTensors.map { ($0.name, $0) })
    var done = 0
    func process(_ info: TensorInfo, _ bytes: [UInt8]) throws {
      var sample: [Float]? = nil
      if info.dtype.isConvertibleFloat {
        let width = info.dtype.byteWidth!
        let head = Array(bytes.prefix(BaseFingerprint.sampleCount * width))
        sample = try FloatConversion.floats(from: head, dtype: info.dtype, file: baseName, tensor: info.name)
      }
      fingerprint.add(name: info.name, shape: info.shape, sample: sample)
      let output = try merged(info, bytes, into: outputInfo[info.name]!)
      done += 1
      if done == outputTensors.count { try checkFingerprint(fingerprint.value, expected) }
      try writer.write(info.name, bytes: output)
      progress(done, outputTensors.count)
    }
    if base.isSeekable {
      for info in writer.tensors {
        try process(base.info(info.name)!, try base.bytes(of: info.name))
      }
    } else {
      try base.forEachTensor(process)
    }
    if outputTensors.isEmpty { try checkFingerprint(fingerprint.value, expected) }
  }

  private func checkFingerprint(_ actual: String, _ expected: [(String, String)]) throws {
    for (source, value) in expected where value != actual {
      if options.ignoreFingerprint {
        notes.append(
          "\(source): trained on a base with fingerprint \(value), not \(baseName)'s \(actual); merged anyway (-f)")
      } else {
        throw SurgeryError(
          .mismatch,
          source,
          "was trained on a base with fingerprint \(value), but \(baseName) has \(actual); use -f to merge anyway")
      }
    }
  }

  private func merged(_ info: TensorInfo, _ bytes: [UInt8], into output: TensorInfo) throws -> [UInt8] {
    switch actions[info.name] {
    case nil, .copy?:
      if output.dtype == info.dtype { return bytes }
      return try FloatConversion.convert(bytes, from: info.dtype, to: output.dtype, file: baseName, tensor: info.name)
    case let .replace(adapter, replacement, dtype)?:
      let source = adapters[adapter].fullTensors.first { $0.info.name == info.name }!.info.dtype
      if source == dtype { return replacement }
      return try FloatConversion.convert(
        replacement, from: source, to: dtype, file: adapters[adapter].source, tensor: info.name)
    case let .update(terms, rows, columns)?:
      var weights = try FloatConversion.floats(from: bytes, dtype: info.dtype, file: baseName, tensor: info.name)
      weights.withUnsafeMutableBufferPointer {
        LowRankUpdate.apply(terms, to: $0, rows: rows, columns: columns, sign: options.unmerge ? -1 : 1)
      }
      // F16 rounds magnitudes from 65520 up to infinity.
      let limit: Float = output.dtype == .f16 ? 65520 : .infinity
      if let bad = weights.firstIndex(where: { !($0.magnitude < limit) }) {
        throw SurgeryError(
          .nonFinite,
          baseName, tensor: info.name,
          "element \(bad) is \(weights[bad]) after merging (not finite in \(output.dtype.name)); the base or an adapter holds huge or non-finite values"
        )
      }
      return try FloatConversion.bytes(from: weights, dtype: output.dtype, file: baseName, tensor: info.name)
    }
  }
}
