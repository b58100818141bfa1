// Which part of a vision transformer a tensor belongs to, for `kswap-diff --by block`: the
// embeddings, transformer block N, or the head (final norm and classifier), as in the paper's
// per-block figure. timm names first (`blocks.N.`), then other common ones (`layers.N.`, `layer.N.`).

import Foundation

public enum BlockGroup: Hashable, Comparable, Sendable, CustomStringConvertible {
  case embeddings
  case block(Int)
  case head
  case other

  private var order: (Int, Int) {
    switch self {
    case .embeddings: return (0, 0)
    case let .block(n): return (1, n)
    case .head: return (2, 0)
    case .other: return (3, 0)
    }
  }

  public static func < (lhs: BlockGroup, rhs: BlockGroup) -> Bool { lhs.order < rhs.order }

  /// Short label used in tables, JSON and chart axes: "embed", "0", "1", ..., "head", "other".
  public var description: String {
    switch self {
    case .embeddings: return "embed"
    case let .block(n): return String(n)
    case .head: return "head"
    case .other: return "other"
    }
  }

  private static let blockPattern = try! NSRegularExpression(
    pattern: "(^|\\.)(blocks|layers|layer|block|h)\\.([0-9]+)\\.")
  private static let embeddingNames = [
    "patch_embed", "cls_token", "pos_embed", "reg_token", "dist_token", "embeddings", "mask_token",
  ]
  private static let headNames = [
    "head", "norm", "fc_norm", "pre_logits", "head_dist", "classifier", "layernorm", "pooler",
  ]

  /// The group of a tensor or adapter tensor name (the adapter prefix `base_model.model.` is ignored).
  public init(tensorName: String) {
    let name =
      tensorName.hasPrefix(AdapterNames.prefix) ? String(tensorName.dropFirst(AdapterNames.prefix.count)) : tensorName
    let range = NSRange(name.startIndex..., in: name)
    if let match = Self.blockPattern.firstMatch(in: name, range: range),
      let numberRange = Range(match.range(at: 3), in: name), let n = Int(name[numberRange])
    {
      self = .block(n)
      return
    }
    let first = name.split(separator: ".").first.map(String.init) ?? name
    if Self.embeddingNames.contains(first) || name.hasPrefix("embeddings.") {
      self = .embeddings
    } else if Self.headNames.contains(first) {
      self = .head
    } else {
      self = .other
    }
  }
}
