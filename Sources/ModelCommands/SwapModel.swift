// Loading a base ViT and adapters for the swap tools, and writing the adapters they produce
// (Formats/adapter.md): PEFT names, LoRA settings and the base fingerprint in `__metadata__`, the full
// head when classes were added or the head trained, and the class list for kswap-merge to carry over.

import Foundation
import Swap
import TensorFile
import Tensors
import ToolSupport
import ViT
import WeightSurgery

/// `__metadata__` keys kswap reads from models and writes into adapters, besides PEFT's.
enum SwapMetadata {
  /// JSON array of class names in head-row order.
  static let classes = "classes"
  /// JSON arrays: per-channel input normalisation on the [0, 1] pixel scale.
  static let mean = "mean"
  static let std = "std"
  /// JSON object of settings of the training run that wrote an adapter.
  static let training = "kswap.training"
}

/// A base model file: its weights, architecture, classes, input normalisation and fingerprint.
struct BaseModel {
  let path: String
  let config: ViTConfig
  let tensors: [String: Tensor]
  let metadata: [String: String]
  let classes: [String]
  let mean: [Float]
  let std: [Float]
  let fingerprint: String

  init(path: String) throws {
    self.path = path
    let reader = try TensorReader(path: path)
    var fingerprint = BaseFingerprint()
    var tensors: [String: Tensor] = [:]
    try reader.forEachTensor { info, bytes in
      guard info.dtype.isConvertibleFloat else {
        fingerprint.add(name: info.name, shape: info.shape, sample: nil)
        return
      }
      let values = try FloatConversion.floats(from: bytes, dtype: info.dtype, file: path, tensor: info.name)
      fingerprint.add(name: info.name, shape: info.shape, sample: Array(values.prefix(BaseFingerprint.sampleCount)))
      tensors[info.name] = Tensor(shape: info.shape, values: values)
    }
    if AdapterNames.isAdapter(tensors.keys) {
      throw SwapInputError("\(path): is an adapter, not a model; pass the base model first and this with --adapter")
    }
    guard let text = reader.metadata[ViTConfig.metadataKey], var config = ViTConfig.fromJSON(text) else {
      throw SwapInputError("\(path): no '\(ViTConfig.metadataKey)' in the metadata: not a kswap ViT model")
    }
    // A model merged with an adapter that added classes has more head rows than its config says.
    if let head = tensors["head.weight"], head.rank == 2 { config.classes = head.shape[0] }
    if let problem = config.validationProblem() { throw SwapInputError("\(path): \(problem)") }
    guard config.classes > 0 else { throw SwapInputError("\(path): the model has no classification head") }
    self.config = config
    self.tensors = tensors
    metadata = reader.metadata
    self.fingerprint = fingerprint.value
    classes = try Self.names(reader.metadata[SwapMetadata.classes], count: config.classes, file: path)
    mean = try Self.floats(reader.metadata[SwapMetadata.mean], count: config.channels, default: 0.5, file: path)
    std = try Self.floats(reader.metadata[SwapMetadata.std], count: config.channels, default: 0.5, file: path)
    // Building once here reports a missing or misshapen tensor before any dataset is read.
    _ = try makeModel()
  }

  /// A fresh model on these weights (the tensors are copied, so each model can train on its own).
  func makeModel() throws -> VisionTransformer {
    do {
      return try VisionTransformer(config: config, tensors: tensors.mapValues { $0.copy() })
    } catch {
      throw SwapInputError("\(path): \(error)")
    }
  }

  static func names(_ text: String?, count: Int, file: String) throws -> [String] {
    guard let text else { return (0..<count).map(String.init) }
    guard let names = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
      throw SwapInputError("\(file): metadata 'classes' is not a JSON array of names")
    }
    guard names.count == count else {
      throw SwapInputError("\(file): metadata 'classes' names \(names.count) classes; the head has \(count) rows")
    }
    return names
  }

  static func floats(_ text: String?, count: Int, default value: Float, file: String) throws -> [Float] {
    guard let text else { return Array(repeating: value, count: count) }
    guard let values = try? JSONDecoder().decode([Float].self, from: Data(text.utf8)), values.count == count,
          values.allSatisfy({ $0.isFinite })
    else { throw SwapInputError("\(file): metadata '\(text)' is not \(count) finite numbers") }
    return values
  }
}

extension BaseModel {
  /// A dataset normalised for this model, refused unless its images fit it.
  func loadDataset(_ path: String) throws -> DatasetFile {
    try InputPath.check(path)
    let file = try DatasetFile(path: path, mean: mean, std: std)
    guard file.images.channels == config.channels, file.images.height == config.imageSize,
          file.images.width == config.imageSize else {
      throw SwapInputError("\(path): images are \(file.images.channels)x\(file.images.height)x\(file.images.width); "
        + "\(self.path) takes \(config.channels)x\(config.imageSize)x\(config.imageSize)")
    }
    return file
  }
}

/// An adapter file: LoRA matrices by module, its settings, an optional full head, and its classes.
struct SwapAdapter {
  let path: String
  let settings: LoRASettings
  /// `<module>` -> (A, B).
  let lora: [String: (a: Tensor, b: Tensor)]
  let head: (weight: Tensor, bias: Tensor)?
  let classes: [String]?
  let baseFingerprint: String?

  init(path: String) throws {
    self.path = path
    let reader = try TensorReader(path: path)
    var settings: LoRASettings?
    do { settings = try LoRASettings(metadata: reader.metadata) } catch {
      throw SwapInputError("\(path): \(error)")
    }
    guard let settings else {
      throw SwapInputError("\(path): not an adapter: no 'peft_type' in its metadata (Formats/adapter.md)")
    }
    self.settings = settings
    var a: [String: Tensor] = [:], b: [String: Tensor] = [:], full: [String: Tensor] = [:]
    try reader.forEachTensor { info, bytes in
      guard info.dtype.isConvertibleFloat else {
        throw SwapInputError("\(path): tensor '\(info.name)' is \(info.dtype.name); adapters hold float tensors")
      }
      let tensor = Tensor(shape: info.shape,
                          values: try FloatConversion.floats(from: bytes, dtype: info.dtype, file: path, tensor: info.name))
      switch AdapterNames.role(of: info.name) {
      case .loraA(let module): a[module] = tensor
      case .loraB(let module): b[module] = tensor
      case .full(let name): full[name] = tensor
      case .unsupported(let reason): throw SwapInputError("\(path): tensor '\(info.name)': \(reason)")
      }
    }
    var lora: [String: (a: Tensor, b: Tensor)] = [:]
    for (module, matrixA) in a {
      guard let matrixB = b[module] else { throw SwapInputError("\(path): '\(module)' has lora_A but no lora_B") }
      lora[module] = (matrixA, matrixB)
    }
    if let module = b.keys.first(where: { a[$0] == nil }) {
      throw SwapInputError("\(path): '\(module)' has lora_B but no lora_A")
    }
    self.lora = lora
    if let unknown = full.keys.sorted().first(where: { $0 != "head.weight" && $0 != "head.bias" }) {
      throw SwapInputError("\(path): full tensor '\(unknown)': the swap tools only read a replaced head")
    }
    if let weight = full["head.weight"], let bias = full["head.bias"] { head = (weight, bias) } else { head = nil }
    baseFingerprint = reader.metadata[BaseFingerprint.metadataKey]
    if let text = reader.metadata[SwapMetadata.classes] {
      guard let names = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
        throw SwapInputError("\(path): metadata 'classes' is not a JSON array of names")
      }
      if let head, names.count != head.weight.shape[0] {
        throw SwapInputError("\(path): metadata 'classes' names \(names.count) classes; its head has \(head.weight.shape[0]) rows")
      }
      classes = names
    } else {
      classes = nil
    }
  }

  /// Refuses an adapter trained on another base.
  func check(against base: BaseModel) throws {
    if let baseFingerprint, baseFingerprint != base.fingerprint {
      throw SwapInputError(
        "\(path): adapter for another base model: its base fingerprint is \(baseFingerprint), \(base.path) has \(base.fingerprint)")
    }
  }

  /// Puts this adapter's LoRA matrices and head onto `model`; with `merge`, folds earlier LoRA first
  /// (so several adapters can stack). Returns the model's classes afterwards.
  func apply(to model: VisionTransformer, classes: [String]) throws -> [String] {
    for (module, pair) in lora.sorted(by: { $0.key < $1.key }) {
      let rank = pair.a.shape.first ?? 0
      let scale: Double
      do { scale = try settings.scale(module: module, rank: rank) } catch { throw SwapInputError("\(path): \(error)") }
      do {
        try model.loadLoRA([LoRANames.peftPrefix + module + ".lora_A.weight": pair.a,
                            LoRANames.peftPrefix + module + ".lora_B.weight": pair.b], scaling: Float(scale))
      } catch {
        throw SwapInputError("\(path): \(error)")
      }
    }
    guard let head else {
      if let own = self.classes, own != classes {
        throw SwapInputError("\(path): the adapter's classes (\(own.count)) differ from the model's (\(classes.count))")
      }
      return classes
    }
    let dim = model.config.dim
    guard head.weight.rank == 2, head.weight.shape[1] == dim, head.bias.shape == [head.weight.shape[0]],
          head.weight.shape[0] >= classes.count
    else {
      throw SwapInputError("\(path): head \(head.weight.shape) does not fit the model (width \(dim), \(classes.count) classes)")
    }
    model.head = Linear(name: "head", weight: head.weight.copy(), bias: head.bias.copy())
    return self.classes ?? classes + (classes.count..<head.weight.shape[0]).map(String.init)
  }
}

/// Writes an adapter: every LoRA matrix of `model`, the head when `includeHead`, settings and classes.
func writeAdapter(
  model: VisionTransformer, path: String, rank: Int, alpha: Float, includeHead: Bool, classes: [String],
  base: BaseModel, training: [String: String]
) throws {
  var tensors: [(info: TensorInfo, bytes: [UInt8])] = []
  func add(_ name: String, _ tensor: Tensor) throws {
    tensors.append((try TensorInfo(name: name, dtype: .f32, shape: tensor.shape, file: path),
                    try FloatConversion.bytes(from: tensor.scalars, dtype: .f32, file: path, tensor: name)))
  }
  for (name, tensor) in model.loraTensors().sorted(by: { $0.key < $1.key }) { try add(name, tensor) }
  if includeHead, let head = model.head {
    try add(AdapterNames.full("head.weight"), head.weight.value)
    if let bias = head.bias { try add(AdapterNames.full("head.bias"), bias.value) }
  }
  var settings = LoRASettings(rank: rank, alpha: Double(alpha))
  settings.targetModules = Array(Set(model.linears.filter { $0.lora != nil }.map { name in
    name.name.split(separator: ".").suffix(2).joined(separator: ".")
  })).sorted()
  settings.modulesToSave = includeHead ? ["head"] : []
  var metadata = settings.metadata
  metadata[BaseFingerprint.metadataKey] = base.fingerprint
  let classList = jsonArray(classes)
  metadata[SwapMetadata.classes] = classList
  metadata["kswap.model_metadata"] = jsonObject([SwapMetadata.classes: classList])
  metadata[SwapMetadata.training] = jsonObject(training)
  try TensorWriter.write(path: path, metadata: metadata, tensors: tensors)
}

/// JSON text of a list of strings, in order.
func jsonArray(_ items: [String]) -> String {
  JSON.array(items.map(JSON.string)).text()
}

/// JSON text of an object of string values with sorted keys.
func jsonObject(_ members: [String: String]) -> String {
  JSON.sortedStrings(members).text()
}
