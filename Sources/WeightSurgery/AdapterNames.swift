// Tensor names in an adapter file (PEFT's layout, Formats/adapter.md): what each name is for.

public enum AdapterTensorRole: Equatable, Sendable {
  /// `base_model.model.<module>.lora_A.weight`
  case loraA(module: String)
  /// `base_model.model.<module>.lora_B.weight`
  case loraB(module: String)
  /// `base_model.model.<name>` without LoRA parts: replaces (or extends) base tensor `<name>`.
  case full(baseName: String)
  /// A LoRA variant kswap does not merge (DoRA, lora_bias, embedding LoRA), or a name outside the layout.
  case unsupported(reason: String)
}

public enum AdapterNames {
  public static let prefix = "base_model.model."

  public static func loraA(_ module: String) -> String { prefix + module + ".lora_A.weight" }
  public static func loraB(_ module: String) -> String { prefix + module + ".lora_B.weight" }
  public static func full(_ baseName: String) -> String { prefix + baseName }

  public static func role(of name: String) -> AdapterTensorRole {
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
}
