// Building the model a tool works on, in one place: the base model, the adapters applied in order
// (each one's LoRA and head), and, for a training stage, the new classes' head rows (compact, or the
// official layout's reserved slots), fresh LoRA where there is none, and what trains. Writing the
// adapter a stage produces is here too.

import SeededRandom
import TensorFile
import Tensors
import ViT
import WeightSurgery

/// A base model with adapters applied, unmerged (W x + s B A x, an adapter's head replacing the base's).
public final class AdaptedModel {
  public let base: BaseModel
  public let model: VisionTransformer
  /// The model's classes in head-row order; nil for an unused row (`reserveHeadSlots`).
  public private(set) var classes: [String?]
  /// The LoRA rank and alpha (nil when its settings do not say) of the last adapter applied; nil
  /// without an adapter.
  public private(set) var adapterLoRA: (rank: Int, alpha: Double?)?
  /// Whether the head or its class list differs from the base's: an adapter replaced it, slots were
  /// reserved, or new classes took rows. An adapter written now must carry it.
  public private(set) var headDiffersFromBase = false
  /// The optimizer state the last adapter applied carried (nil when it had none, or without an adapter).
  public private(set) var adapterOptimizerState: SavedOptimizerState?
  /// The file of the last adapter applied, for messages.
  private var adapterSource: String?

  /// The base model with `adapters` applied in order; earlier adapters are folded into the weights
  /// before the next one goes on (one LoRA slot per layer). Refuses an adapter of another base.
  public init(base: BaseModel, adapters: [AdapterFile]) throws {
    self.base = base
    model = try base.makeModel()
    classes = base.classes
    for (index, adapter) in adapters.enumerated() {
      if index > 0 { model.mergeLoRA() }
      try apply(adapter)
    }
  }

  /// Reads an adapter file for the swap tools: LoRA matrices, at most a replaced head, and any optimizer
  /// state (`AdapterFile.optimizerState`).
  public static func readAdapter(_ path: String) throws -> AdapterFile {
    let adapter = try AdapterFile.load(path: path)
    if let other = adapter.fullTensors.map(\.info.name).sorted().first(where: {
      $0 != "head.weight" && $0 != "head.bias"
    }) {
      throw SwapError(.invalidAdapter, file: path, "full tensor '\(other)': the swap tools only read a replaced head")
    }
    return adapter
  }

  private func apply(_ adapter: AdapterFile) throws {
    let path = adapter.source
    if let fingerprint = adapter.baseFingerprint, fingerprint != base.fingerprint {
      throw SwapError(
        .mismatch, file: path,
        "adapter for another base model: its base fingerprint is \(fingerprint), \(base.path) has \(base.fingerprint)"
      )
    }
    for module in adapter.modules.sorted(by: { $0.module < $1.module }) {
      do {
        try model.loadLoRA(
          [
            AdapterNames.loraA(module.module): Tensor(shape: module.aShape, values: module.a),
            AdapterNames.loraB(module.module): Tensor(shape: module.bShape, values: module.b),
          ],
          scaling: Float(module.scale))
      } catch {
        throw SwapError(.mismatch, file: path, "\(error)")
      }
    }
    if let first = adapter.modules.first {
      adapterLoRA = (adapter.settings.rank ?? first.rank, adapter.settings.alpha)
    }
    adapterOptimizerState = adapter.optimizerState
    adapterSource = path
    var own: [String?]?
    if let text = adapter.metadata[SwapMetadata.classes] {
      guard let names = SwapMetadata.names(text) else {
        throw SwapError(.invalidAdapter, file: path, "metadata 'classes' is not a JSON array of names")
      }
      own = names
    }
    let full = Dictionary(adapter.fullTensors.map { ($0.info.name, $0) }, uniquingKeysWith: { first, _ in first })
    guard let weight = full["head.weight"], let bias = full["head.bias"] else {
      if let own, own != classes {
        throw SwapError(
          .mismatch, file: path, "the adapter's classes (\(own.count)) differ from the model's (\(classes.count))")
      }
      return
    }
    let w = try Checkpoint.tensor(info: weight.info, bytes: weight.bytes, file: path)
    let b = try Checkpoint.tensor(info: bias.info, bytes: bias.bytes, file: path)
    let dim = model.config.dim
    guard w.rank == 2, w.shape[1] == dim, b.shape == [w.shape[0]], w.shape[0] >= classes.count else {
      throw SwapError(
        .mismatch, file: path, "head \(w.shape) does not fit the model (width \(dim), \(classes.count) classes)")
    }
    if let own, own.count != w.shape[0] {
      throw SwapError(
        .invalidAdapter, file: path, "metadata 'classes' names \(own.count) classes; its head has \(w.shape[0]) rows")
    }
    model.head = Linear(name: "head", weight: w, bias: b)
    classes = own ?? classes + (classes.count..<w.shape[0]).map(String.init)
    headDiffersFromBase = true
  }

  /// Reserves `count` unused head rows for new classes, as the official classification code builds its
  /// head (paper.md 2.1): one Xavier-uniform block over all of them, U(±√(6 / (count + D))), bias 0. They
  /// take part in every softmax and argmax until a learn set's classes fill them, first unused first.
  public func reserveHeadSlots(_ count: Int, seed: UInt64) {
    guard count > 0 else { return }
    var headRows = SeededGenerator(seed: seed).derived("new head rows")
    model.appendHeadRows(count, generator: &headRows)
    classes += [String?](repeating: nil, count: count)
    headDiffersFromBase = true
  }

  /// Makes the model ready to train a stage with `classes`, its class list after the stage
  /// (`StageData.classes`: the current rows, unused ones possibly named now, then new rows): head rows
  /// for the classes beyond the current rows (appended in order, drawn as the paper's code does), fresh
  /// LoRA (`rank`, `alpha`, the paper's init) where no adapter brought one, and the trainable set (LoRA,
  /// and the head with `trainHead`). Returns the network to train.
  public func prepareStage(classes: [String?], rank: Int, alpha: Float, trainHead: Bool, seed: UInt64) -> ViTNetwork {
    precondition(
      classes.count >= self.classes.count && zip(self.classes, classes).allSatisfy { $0 == nil || $0 == $1 },
      "the stage's classes \(classes) do not extend the model's \(self.classes)")
    var headRows = SeededGenerator(seed: seed).derived("new head rows")
    model.appendHeadRows(classes.count - self.classes.count, generator: &headRows)
    if classes != self.classes { headDiffersFromBase = true }
    self.classes = classes
    if !model.blocks.contains(where: { $0.fc1.lora != nil || $0.fc2.lora != nil }) {
      var generator = SeededGenerator(seed: seed).derived("lora init")
      model.addLoRA(LoRAConfig(rank: rank, alpha: alpha, initialization: .paper), generator: &generator)
    }
    let network = ViTNetwork(model: model)
    network.setTrainable(trainHead ? .loraAnd(["head"]) : .lora)
    return network
  }

  /// An AdamW continuing the optimizer state of the adapter applied last, for `parameters` (what trains
  /// now), with `weightDecay`: its moments and step count (`AdamW.State.restoring`: moments it lacks start
  /// at zero and are listed in `absent`). Nil when the adapter carries no state.
  public func continuedOptimizer(
    parameters: [Parameter], weightDecay: Float
  ) throws -> (optimizer: AdamW, absent: [String])? {
    guard let saved = adapterOptimizerState else { return nil }
    var optimizer = AdamW(parameters: parameters, weightDecay: weightDecay)
    let absent: [String]
    (optimizer.state, absent) = try AdamW.State.restoring(saved, parameters: parameters, file: adapterSource ?? "")
    return (optimizer, absent)
  }

  /// The adapter the model now holds, as a tensor file's contents (Formats/adapter.md): every LoRA
  /// matrix, the head when `includeHead`, the optimizer state that trained them, the settings, the base
  /// fingerprint, the class list (which kswap-merge carries into the merged model) and `training`, the
  /// run's settings.
  public func adapterContents(
    rank: Int, alpha: Float, includeHead: Bool, optimizerState: SavedOptimizerState?, training: [String: String],
    file: String
  ) throws -> (metadata: [String: String], tensors: [(info: TensorInfo, bytes: [UInt8])]) {
    let lora = model.linears.compactMap { layer in layer.lora.map { (layer.name, $0) } }
    let modules = lora.map { name, adapter in
      LoRAModule(
        module: name, rank: adapter.rank, aShape: adapter.a.value.shape, bShape: adapter.b.value.shape,
        a: adapter.a.value.scalars, b: adapter.b.value.scalars, scale: Double(adapter.scaling))
    }
    var settings = LoRASettings(rank: rank, alpha: Double(alpha))
    settings.targetModules = Set(lora.map { $0.0.split(separator: ".").suffix(2).joined(separator: ".") }).sorted()
    settings.modulesToSave = includeHead ? ["head"] : []
    var full: [(info: TensorInfo, bytes: [UInt8])] = []
    if includeHead, let head = model.head {
      for parameter in head.parameters {
        let t = parameter.value
        full.append(
          (
            try TensorInfo(name: parameter.name, dtype: .f32, shape: t.shape, file: file),
            try FloatConversion.bytes(from: t.scalars, dtype: .f32, file: file, tensor: parameter.name)
          ))
      }
    }
    let classList = SwapMetadata.classList(classes)
    let adapter = AdapterFile(
      source: file, settings: settings, modules: modules, fullTensors: full,
      baseFingerprint: base.fingerprint, modelMetadata: [(SwapMetadata.classes, classList)],
      optimizerState: optimizerState)
    return try adapter.fileContents(
      extraMetadata: [SwapMetadata.classes: classList, SwapMetadata.training: SwapMetadata.object(training)])
  }
}
