// An adapter read whole into memory (they are small): its settings, its LoRA matrices per module,
// its full tensors, the base fingerprint it records, and the optimizer state a training stage left in
// it (which merging and diffing ignore). Accepts kswap adapter files and PEFT adapters (a directory, or
// adapter_model.safetensors with its adapter_config.json).

import Foundation
import TensorFile

public struct LoRAModule: Sendable {
  public var module: String
  public var rank: Int
  /// (rank, in...) as stored; `a` holds rank * columns values.
  public var aShape: [Int]
  /// (out, rank, 1...) as stored.
  public var bShape: [Int]
  public var a: [Float]
  public var b: [Float]
  public var scale: Double

  public init(module: String, rank: Int, aShape: [Int], bShape: [Int], a: [Float], b: [Float], scale: Double) {
    self.module = module
    self.rank = rank
    self.aShape = aShape
    self.bShape = bShape
    self.a = a
    self.b = b
    self.scale = scale
  }
}

public struct AdapterFile: Sendable {
  /// How the adapter was named on the command line, for messages.
  public var source: String
  public var settings: LoRASettings
  /// Modules in file order.
  public var modules: [LoRAModule]
  /// Full tensors by base tensor name, in file order.
  public var fullTensors: [(info: TensorInfo, bytes: [UInt8])]
  public var baseFingerprint: String?
  /// `kswap.model_metadata`: entries to set in a merged model's metadata.
  public var modelMetadata: [(String, String)]
  /// The AdamW state of the stage that wrote the adapter, by adapter tensor name; nil when it has none.
  public var optimizerState: SavedOptimizerState?
  /// The file's own `__metadata__` (settings included), for keys a tool adds, such as kswap's classes.
  public var metadata: [String: String] = [:]

  public static let modelMetadataKey = "kswap.model_metadata"
  public static let peftWeightsName = "adapter_model.safetensors"
  public static let peftConfigName = "adapter_config.json"

  /// Where an operand's tensors and settings are: a PEFT directory stands for its two files.
  public static func resolve(path: String, configPath: String? = nil) throws -> (weights: String, config: String?) {
    var isDirectory: ObjCBool = false
    guard path != "-", FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue
    else {
      return (path, configPath)
    }
    let weights = (path as NSString).appendingPathComponent(peftWeightsName)
    guard FileManager.default.fileExists(atPath: weights) else {
      throw SurgeryError(
        .notAnAdapter, path, "a directory without \(peftWeightsName); expected a PEFT adapter directory")
    }
    return (weights, configPath ?? (path as NSString).appendingPathComponent(peftConfigName))
  }

  /// Reads an adapter. `path` is a tensor file, "-", or a PEFT directory; `configPath` an
  /// adapter_config.json given explicitly.
  public static func load(path: String, configPath: String? = nil) throws -> AdapterFile {
    let (weightsPath, config) = try resolve(path: path, configPath: configPath)
    let reader = try TensorReader(path: weightsPath)
    var tensors: [(TensorInfo, [UInt8])] = []
    try reader.forEachTensor { tensors.append(($0, $1)) }
    return try AdapterFile(source: weightsPath, metadata: reader.metadata, tensors: tensors, configPath: config)
  }

  /// Builds an adapter from tensors already read. Without `configPath`, a tensor file whose metadata
  /// lacks `peft_type` takes the adapter_config.json beside it.
  public init(source path: String, metadata: [String: String], tensors: [(TensorInfo, [UInt8])], configPath: String?)
    throws
  {
    let source = path == "-" ? "<stdin>" : path
    var config = configPath
    var settings = try LoRASettings(metadata: metadata, file: source)
    if settings == nil, config == nil, path != "-" {
      let sibling = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
        Self.peftConfigName)
      if FileManager.default.fileExists(atPath: sibling) { config = sibling }
    }
    if let config { settings = try LoRASettings(config: JSON(contentsOf: config), file: config) }
    guard let settings else {
      throw SurgeryError(
        .notAnAdapter,
        source, "not an adapter: no LoRA settings (no peft_type in its metadata, no \(Self.peftConfigName) beside it)")
    }
    if settings.fanInFanOut {
      throw SurgeryError(.unsupported, source, "fan_in_fan_out (GPT-2 style transposed) adapters are not supported")
    }
    if settings.useDoRA { throw SurgeryError(.unsupported, source, "DoRA adapters (use_dora) are not supported") }

    var loraA: [String: (TensorInfo, [Float])] = [:]
    var loraB: [String: (TensorInfo, [Float])] = [:]
    var order: [String] = []
    var full: [(info: TensorInfo, bytes: [UInt8])] = []
    var optimizerTensors: [(info: TensorInfo, bytes: [UInt8])] = []
    for (info, bytes) in tensors {
      switch AdapterNames.role(of: info.name) {
      case let .loraA(module), let .loraB(module):
        guard info.shape.count >= 2 else {
          throw SurgeryError(
            .invalidTensor, source, tensor: info.name,
            "a LoRA matrix needs at least 2 dimensions, it has shape \(info.shape)")
        }
        let values = try FloatConversion.floats(from: bytes, dtype: info.dtype, file: source, tensor: info.name)
        if loraA[module] == nil, loraB[module] == nil { order.append(module) }
        if info.name.hasSuffix(".lora_A.weight") {
          loraA[module] = (info, values)
        } else {
          loraB[module] = (info, values)
        }
      case let .full(baseName):
        full.append((try TensorInfo(name: baseName, dtype: info.dtype, shape: info.shape, file: source), bytes))
      case .optimizerMoment:
        optimizerTensors.append((info, bytes))
      case let .unsupported(reason):
        throw SurgeryError(.unsupported, source, tensor: info.name, "cannot merge this tensor: \(reason)")
      }
    }
    var modules: [LoRAModule] = []
    for module in order {
      guard let (aInfo, a) = loraA[module] else {
        throw SurgeryError(
          .invalidTensor, source, tensor: AdapterNames.loraB(module), "has no matching \(AdapterNames.loraA(module))")
      }
      guard let (bInfo, b) = loraB[module] else {
        throw SurgeryError(
          .invalidTensor, source, tensor: AdapterNames.loraA(module), "has no matching \(AdapterNames.loraB(module))")
      }
      let rank = aInfo.shape[0]
      guard rank > 0, bInfo.shape[1] == rank, bInfo.shape.dropFirst(2).allSatisfy({ $0 == 1 }) else {
        throw SurgeryError(
          .invalidTensor,
          source, tensor: bInfo.name,
          "shape \(bInfo.shape) does not fit lora_A's \(aInfo.shape): expected (out, \(rank))")
      }
      let scale: Double
      scale = try settings.scale(module: module, rank: rank, file: source)
      modules.append(
        LoRAModule(module: module, rank: rank, aShape: aInfo.shape, bShape: bInfo.shape, a: a, b: b, scale: scale))
    }

    var modelMetadata: [(String, String)] = []
    if let text = metadata[Self.modelMetadataKey] {
      guard case let .object(members)? = try? JSON(parsing: text, file: source),
        members.allSatisfy({ $0.1.stringValue != nil })
      else {
        throw SurgeryError(
          .invalidSettings, source, "metadata \(Self.modelMetadataKey) is not a JSON object of strings")
      }
      modelMetadata = members.map { ($0.0, $0.1.stringValue!) }
    }
    self.init(
      source: source, settings: settings, modules: modules, fullTensors: full,
      baseFingerprint: metadata[BaseFingerprint.metadataKey], modelMetadata: modelMetadata,
      optimizerState: try SavedOptimizerState(metadata: metadata, tensors: optimizerTensors, file: source))
    self.metadata = metadata
  }

  public init(
    source: String, settings: LoRASettings, modules: [LoRAModule], fullTensors: [(info: TensorInfo, bytes: [UInt8])],
    baseFingerprint: String?, modelMetadata: [(String, String)], optimizerState: SavedOptimizerState? = nil
  ) {
    self.source = source
    self.settings = settings
    self.modules = modules
    self.fullTensors = fullTensors
    self.baseFingerprint = baseFingerprint
    self.modelMetadata = modelMetadata
    self.optimizerState = optimizerState
  }
}

extension AdapterFile {
  /// The adapter as a tensor file's contents, in PEFT's layout (Formats/adapter.md): each module's
  /// lora_A and lora_B in F32 sorted by name, then the full tensors, then the optimizer state; `metadata`
  /// is the settings, the base fingerprint, `kswap.model_metadata`, the optimizer's step and `extraMetadata`.
  public func fileContents(extraMetadata: [String: String] = [:]) throws
    -> (metadata: [String: String], tensors: [(info: TensorInfo, bytes: [UInt8])])
  {
    var lora: [(String, [Int], [Float])] = []
    for module in modules {
      lora.append((AdapterNames.loraA(module.module), module.aShape, module.a))
      lora.append((AdapterNames.loraB(module.module), module.bShape, module.b))
    }
    var tensors: [(info: TensorInfo, bytes: [UInt8])] = []
    for (name, shape, values) in lora.sorted(by: { $0.0 < $1.0 }) {
      tensors.append(
        (
          try TensorInfo(name: name, dtype: .f32, shape: shape, file: source),
          try FloatConversion.bytes(from: values, dtype: .f32, file: source, tensor: name)
        ))
    }
    for (info, bytes) in fullTensors {
      let name = AdapterNames.full(info.name)
      tensors.append((try TensorInfo(name: name, dtype: info.dtype, shape: info.shape, file: source), bytes))
    }
    var metadata = settings.metadata.merging(extraMetadata) { _, extra in extra }
    if let optimizerState {
      let saved = try optimizerState.fileContents(file: source)
      tensors += saved.tensors
      metadata.merge(saved.metadata) { _, state in state }
    }
    metadata[BaseFingerprint.metadataKey] = baseFingerprint
    if !modelMetadata.isEmpty {
      metadata[Self.modelMetadataKey] = JSON.object(modelMetadata.map { ($0.0, JSON.string($0.1)) }).text()
    }
    return (metadata, tensors)
  }
}
