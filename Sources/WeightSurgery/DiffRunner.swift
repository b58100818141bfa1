// kswap-diff's work: read two or more tensor files one tensor at a time and fill a DiffReport.
// Seekable files are read by random access; a pipe ("-") is read once into memory.

import TensorFile

public enum DiffRunner {
  /// One operand: a seekable reader, or the tensors of a pipe held in memory.
  final class Source {
    let path: String
    let reader: TensorReader
    let tensors: [TensorInfo]
    private var memory: [String: [UInt8]] = [:]
    let configPath: String?

    init(operand: String) throws {
      let (weights, config) = try AdapterFile.resolve(path: operand)
      path = weights
      configPath = config
      reader = try TensorReader(path: weights)
      tensors = reader.tensors
      if !reader.isSeekable {
        var memory: [String: [UInt8]] = [:]
        try reader.forEachTensor { memory[$0.name] = $1 }
        self.memory = memory
      }
    }

    var displayName: String { path == "-" ? "<stdin>" : path }
    func info(_ name: String) -> TensorInfo? { reader.info(name) }
    func bytes(_ name: String) throws -> [UInt8] { try memory[name] ?? reader.bytes(of: name) }

    func floats(_ name: String) throws -> [Float] {
      let info = reader.info(name)!
      return try TensorValues.floats(try bytes(name), dtype: info.dtype, file: displayName, tensor: name)
    }

    func adapter() throws -> AdapterFile {
      let list = try tensors.map { ($0, try bytes($0.name)) }
      return try AdapterFile(source: path, metadata: reader.metadata, tensors: list, configPath: configPath)
    }
  }

  /// Compares every later operand with the first. Adapters mode when every operand is an adapter.
  public static func run(operands: [String], tolerance: Double = 0) throws -> DiffReport {
    let sources = try operands.map(Source.init(operand:))
    let allAdapters = sources.allSatisfy { AdapterNames.isAdapter($0.tensors.map(\.name)) }
    var report = DiffReport(mode: allAdapters ? .adapters : .checkpoints, files: operands, tolerance: tolerance)

    var names: [String] = []
    var seen = Set<String>()
    for source in sources {
      // Optimizer state saved by the training tools is not a weight: diffing ignores it.
      for info in source.tensors where !info.name.hasPrefix(AdapterNames.optimizerPrefix) {
        if seen.insert(info.name).inserted { names.append(info.name) }
      }
    }
    let reference = sources[0]
    for name in names {
      let referenceInfo = reference.info(name)
      var referenceValues: [Float]? = nil
      var changes: [DiffReport.Change] = []
      for other in sources.dropFirst() {
        guard let otherInfo = other.info(name) else {
          changes.append(.init(status: .missing))
          continue
        }
        guard let referenceInfo else {
          changes.append(.init(status: .added))
          continue
        }
        guard referenceInfo.shape == otherInfo.shape else {
          changes.append(.init(status: .shapeDiffers))
          continue
        }
        var sums = DiffSums()
        if TensorValues.hasNumbers(referenceInfo.dtype), TensorValues.hasNumbers(otherInfo.dtype) {
          if referenceValues == nil { referenceValues = try reference.floats(name) }
          sums.add(reference: referenceValues!, other: try other.floats(name))
        } else {
          // Opaque types (F8, F6, F4): equal bytes or not.
          let referenceBytes = try reference.bytes(name), otherBytes = try other.bytes(name)
          let same = referenceInfo.dtype == otherInfo.dtype && referenceBytes == otherBytes
          sums.count = referenceInfo.elementCount
          sums.maxAbsDifference = same ? 0 : 1
        }
        changes.append(.init(status: .compared, sums: sums))
      }
      // A name the reference lacks is "added" where present and not compared elsewhere.
      if referenceInfo == nil {
        changes = sources.dropFirst().map { .init(status: $0.info(name) == nil ? .missing : .added) }
      }
      report.tensors.append(
        DiffReport.TensorEntry(name: name, shapes: sources.map { $0.info(name)?.shape }, changes: changes))
    }

    if allAdapters {
      let adapters = try sources.map { try $0.adapter() }
      var moduleNames: [String] = []
      var seenModules = Set<String>()
      for adapter in adapters {
        for module in adapter.modules where seenModules.insert(module.module).inserted {
          moduleNames.append(module.module)
        }
      }
      report.modules = moduleNames.map { name in
        DiffReport.ModuleEntry(
          module: name,
          norms: adapters.map { adapter in
            guard let m = adapter.modules.first(where: { $0.module == name }) else { return nil }
            let rows = m.bShape[0], columns = m.a.count / m.rank
            let aNorm = m.a.withUnsafeBufferPointer { sumOfSquares($0) }.squareRoot()
            let bNorm = m.b.withUnsafeBufferPointer { sumOfSquares($0) }.squareRoot()
            let delta =
              abs(m.scale) * LowRankUpdate.frobeniusNorm(rank: m.rank, a: m.a, b: m.b, rows: rows, columns: columns)
            return DiffReport.LoRANorms(rank: m.rank, scale: m.scale, aNorm: aNorm, bNorm: bNorm, deltaNorm: delta)
          })
      }
    }
    return report
  }
}

/// Tensor values as Float for comparison: float types exactly (F64 rounded), integers and BOOL by value.
enum TensorValues {
  static func hasNumbers(_ dtype: DType) -> Bool { dtype.isConvertibleFloat || dtype.isInteger || dtype == .bool }

  static func floats(_ bytes: [UInt8], dtype: DType, file: String, tensor: String) throws -> [Float] {
    if dtype.isConvertibleFloat {
      return try FloatConversion.floats(from: bytes, dtype: dtype, file: file, tensor: tensor)
    }
    return bytes.withUnsafeBytes { raw -> [Float] in
      switch dtype {
      case .bool, .u8: return raw.map { Float($0) }
      case .i8: return raw.map { Float(Int8(bitPattern: $0)) }
      case .i16:
        return (0..<raw.count / 2).map {
          Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self)))
        }
      case .u16:
        return (0..<raw.count / 2).map {
          Float(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))
        }
      case .i32:
        return (0..<raw.count / 4).map {
          Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)))
        }
      case .u32:
        return (0..<raw.count / 4).map {
          Float(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
        }
      case .i64:
        return (0..<raw.count / 8).map {
          Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)))
        }
      default:
        return (0..<raw.count / 8).map {
          Float(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))
        }
      }
    }
  }
}
