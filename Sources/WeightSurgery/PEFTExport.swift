// An adapter as a PEFT adapter directory (Formats/adapter.md, "PEFT export"): the adapter_model.safetensors
// and adapter_config.json that `PeftModel.from_pretrained` applies to the base model, giving the logits kswap
// computes. Only the LoRA matrices and the full tensors go out; anything else an adapter file holds
// (optimizer state) stays behind.

import TensorFile

/// What `kswap-pack --peft-dir` writes, made from an adapter read by `AdapterFile`.
public struct PEFTExport {
  /// The tensors of adapter_model.safetensors, in PEFT's names.
  public var tensors: [(info: TensorInfo, bytes: [UInt8])]
  /// The `__metadata__` of adapter_model.safetensors: PEFT's `format: pt`, the LoRA settings and the
  /// kswap keys that let kswap read the file back as it was (base fingerprint, classes).
  public var metadata: [String: String]
  /// adapter_config.json's object.
  public var config: JSON

  /// The metadata keys carried from the adapter besides the settings, the fingerprint and
  /// `kswap.model_metadata`: the class list and the run's settings. No other key goes out.
  public static let carriedMetadataKeys = ["classes", "kswap.training"]

  public init(_ adapter: AdapterFile) throws {
    guard !adapter.modules.isEmpty else {
      throw SurgeryError(.unsupported, adapter.source, "holds no LoRA matrices; a PEFT LoRA adapter needs at least one")
    }
    var extra = ["format": "pt"]
    for key in Self.carriedMetadataKeys { extra[key] = adapter.metadata[key] }
    let contents = try adapter.fileContents(extraMetadata: extra)
    // The adapter file's contents less whatever else they hold (optimizer state and its step).
    tensors = contents.tensors.filter { Self.isPEFTTensor($0.info.name) }
    let keys = Set(LoRASettings.fieldNames + Self.carriedMetadataKeys)
      .union(["format", BaseFingerprint.metadataKey, AdapterFile.modelMetadataKey])
    metadata = contents.metadata.filter { keys.contains($0.key) }
    config = try Self.config(adapter)
  }

  /// Whether PEFT loads a tensor of this name: a LoRA matrix or a full tensor.
  static func isPEFTTensor(_ name: String) -> Bool {
    switch AdapterNames.role(of: name) {
    case .loraA, .loraB, .full: return true
    default: return false
    }
  }

  /// adapter_config.json: the fields PEFT reads, with kswap's values; the rest take PEFT's defaults.
  static func config(_ adapter: AdapterFile) throws -> JSON {
    let settings = adapter.settings
    let ranks = Set(adapter.modules.map(\.rank))
    guard let rank = settings.rank ?? (ranks.count == 1 ? ranks.first : nil) else {
      throw SurgeryError(
        .unsupported,
        adapter.source, "its modules have ranks \(ranks.sorted()) and its settings give no r to write")
    }
    guard let alpha = settings.alpha else {
      throw SurgeryError(.invalidSettings, adapter.source, LoRASettings.missingAlpha)
    }
    var saved: [String] = []
    for name in adapter.fullTensors.map(\.info.name) {
      guard let dot = name.lastIndex(of: ".") else {
        throw SurgeryError(
          .unsupported,
          adapter.source, tensor: AdapterNames.full(name),
          "PEFT carries full tensors as whole modules (modules_to_save); '\(name)' is not a module's parameter")
      }
      let module = String(name[..<dot])
      if !saved.contains(module) { saved.append(module) }
    }
    let modules = adapter.modules.map(\.module)
    // The adapter's target list when PEFT's rule finds every module with it, else the modules by name.
    let listed = modules.allSatisfy { module in settings.targetModules.contains { Self.names(module, entry: $0) } }
    let targets = listed ? settings.targetModules : modules.sorted()
    func list(_ items: [String]) -> JSON { .array(items.map(JSON.string)) }
    // Sorted keys, as PEFT's save_pretrained writes them.
    return .object([
      ("alpha_pattern", .object(settings.alphaPattern.map { ($0.0, JSON.number($0.1)) })),
      ("base_model_name_or_path", .null),
      ("bias", .string("none")),
      ("fan_in_fan_out", .bool(false)),
      ("inference_mode", .bool(true)),
      ("init_lora_weights", .bool(true)),
      ("lora_alpha", .number(alpha)),
      ("lora_bias", .bool(false)),
      ("lora_dropout", .number(0)),
      ("modules_to_save", saved.isEmpty ? .null : list(saved)),
      ("peft_type", .string("LORA")),
      ("r", .integer(rank)),
      ("rank_pattern", .object(settings.rankPattern.map { ($0.0, JSON.integer($0.1)) })),
      ("target_modules", list(targets)),
      ("task_type", .null),
      ("use_dora", .bool(false)),
      ("use_rslora", .bool(settings.useRSLoRA)),
    ])
  }

  /// PEFT's rule for a list of target modules: an entry names a module when it is the whole name or
  /// a suffix that starts after a dot.
  static func names(_ module: String, entry: String) -> Bool {
    module == entry || module.hasSuffix("." + entry)
  }
}
