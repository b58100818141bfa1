// Tensor names in an adapter file (PEFT's layout, Formats/adapter.md): what each name is for.
// Besides PEFT's names an adapter may carry the AdamW state of the stage that wrote it, under names
// PEFT does not load (`kswap_optimizer.exp_avg.<tensor>`).

public enum AdapterTensorRole: Equatable, Sendable {
  /// `base_model.model.<module>.lora_A.weight`
  case loraA(module: String)
  /// `base_model.model.<module>.lora_B.weight`
  case loraB(module: String)
  /// `base_model.model.<name>` without LoRA parts: replaces (or extends) base tensor `<name>`.
  case full(baseName: String)
  /// `kswap_optimizer.exp_avg.<tensor>` / `kswap_optimizer.exp_avg_sq.<tensor>`: AdamW's first or second
  /// moment for the adapter tensor `<tensor>` (a PEFT name); not part of the update.
  case optimizerMoment(OptimizerMoment, tensor: String)
  /// A LoRA variant kswap does not merge (DoRA, lora_bias, embedding LoRA), or a name outside the layout.
  case unsupported(reason: String)
}

/// AdamW's two moments, by PyTorch's names for them.
public enum OptimizerMoment: String, Sendable, CaseIterable {
  /// The running mean of the gradient.
  case first = "exp_avg"
  /// The running mean of the squared gradient.
  case second = "exp_avg_sq"
}

public enum AdapterNames {
  public static let prefix = "base_model.model."

  public static func loraA(_ module: String) -> String { prefix + module + ".lora_A.weight" }
  public static func loraB(_ module: String) -> String { prefix + module + ".lora_B.weight" }
  public static func full(_ baseName: String) -> String { prefix + baseName }

  /// Where optimizer state lives: outside PEFT's `base_model.model.` names, so PEFT does not load it.
  public static let optimizerPrefix = "kswap_optimizer."

  /// The name of `moment` of adapter tensor `tensor`: `kswap_optimizer.exp_avg.<tensor>`.
  public static func optimizerMoment(_ moment: OptimizerMoment, of tensor: String) -> String {
    optimizerPrefix + moment.rawValue + "." + tensor
  }

  public static func role(of name: String) -> AdapterTensorRole {
    if let rest = name.strippingPrefix(optimizerPrefix) {
      for moment in OptimizerMoment.allCases {
        if let tensor = rest.strippingPrefix(moment.rawValue + "."), !tensor.isEmpty {
          return .optimizerMoment(moment, tensor: tensor)
        }
      }
      return .unsupported(reason: "optimizer state other than exp_avg or exp_avg_sq of a named tensor")
    }
    guard name.hasPrefix(prefix) else {
      return .unsupported(reason: "not in PEFT's layout (names start with '\(prefix)')")
    }
    let rest = String(name.dropFirst(prefix.count))
    if let module = rest.strippingSuffix(".lora_A.weight") { return .loraA(module: module) }
    if let module = rest.strippingSuffix(".lora_B.weight") { return .loraB(module: module) }
    let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
    if parts.contains("lora_magnitude_vector") { return .unsupported(reason: "DoRA (lora_magnitude_vector)") }
    if parts.contains("lora_embedding_A") || parts.contains("lora_embedding_B") {
      return .unsupported(reason: "embedding LoRA (lora_embedding_A/B)")
    }
    if parts.contains("lora_A") || parts.contains("lora_B") {
      return .unsupported(reason: "a LoRA bias or other LoRA part")
    }
    if parts.contains(where: \.isEmpty) { return .unsupported(reason: "an empty name component") }
    return .full(baseName: rest)
  }

  /// True when the names look like an adapter (some LoRA matrix present).
  public static func isAdapter<S: Sequence>(_ names: S) -> Bool where S.Element == String {
    names.contains { if case .loraA = role(of: $0) { return true } else { return false } }
  }
}

extension String {
  func strippingSuffix(_ suffix: String) -> String? {
    hasSuffix(suffix) ? String(dropLast(suffix.count)) : nil
  }

  func strippingPrefix(_ prefix: String) -> String? {
    hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil
  }
}
