// The LoRA settings of one adapter (PEFT's adapter_config.json fields, or the same names in a kswap
// adapter's __metadata__) and the scale they give each module. Formats/adapter.md is the spec.

import Foundation
import TensorFile

public struct LoRASettings: Equatable, Sendable {
  public var rank: Int?
  public var alpha: Double?
  public var useRSLoRA = false
  /// Pattern keys in file order: PEFT applies the first key whose regex matches.
  public var rankPattern: [(String, Int)] = []
  public var alphaPattern: [(String, Double)] = []
  public var targetModules: [String] = []
  public var modulesToSave: [String] = []
  public var fanInFanOut = false
  public var useDoRA = false
  public var loraBias = false

  public init(rank: Int? = nil, alpha: Double? = nil, useRSLoRA: Bool = false) {
    self.rank = rank
    self.alpha = alpha
    self.useRSLoRA = useRSLoRA
  }

  public static func == (lhs: LoRASettings, rhs: LoRASettings) -> Bool {
    lhs.rank == rhs.rank && lhs.alpha == rhs.alpha && lhs.useRSLoRA == rhs.useRSLoRA
      && lhs.rankPattern.map(\.0) == rhs.rankPattern.map(\.0) && lhs.rankPattern.map(\.1) == rhs.rankPattern.map(\.1)
      && lhs.alphaPattern.map(\.0) == rhs.alphaPattern.map(\.0)
      && lhs.alphaPattern.map(\.1) == rhs.alphaPattern.map(\.1)
      && lhs.targetModules == rhs.targetModules && lhs.modulesToSave == rhs.modulesToSave
      && lhs.fanInFanOut == rhs.fanInFanOut && lhs.useDoRA == rhs.useDoRA && lhs.loraBias == rhs.loraBias
  }
}

extension LoRASettings {
  /// The metadata keys PEFT's fields are stored under; their values are JSON text.
  public static let fieldNames = [
    "peft_type", "r", "lora_alpha", "use_rslora", "target_modules", "rank_pattern", "alpha_pattern",
    "modules_to_save", "fan_in_fan_out", "use_dora", "lora_bias",
  ]

  /// Why an adapter's scale cannot be worked out: PEFT's lora_alpha has no default kswap can assume.
  public static let missingAlpha = "no lora_alpha in the adapter's metadata or adapter_config.json"

  /// Reads settings from a parsed adapter_config.json object; `file` names it in errors.
  public init(config: JSON, file: String) throws {
    guard case let .object(members) = config else {
      throw SurgeryError(.invalidSettings, file, "field 'adapter_config': not an object")
    }
    var fields: [String: JSON] = [:]
    for (key, value) in members { fields[key] = value }
    try self.init(fields: fields, file: file)
  }

  /// Reads settings from a tensor file's __metadata__, where each PEFT field is JSON text.
  /// Returns nil when the metadata does not describe a LoRA adapter (no `peft_type`).
  public init?(metadata: [String: String], file: String) throws {
    guard metadata["peft_type"] != nil else { return nil }
    var fields: [String: JSON] = [:]
    for key in LoRASettings.fieldNames {
      guard let text = metadata[key] else { continue }
      do { fields[key] = try JSON(parsing: text, file: file) } catch {
        throw SurgeryError(.invalidSettings, file, "field '\(key)': metadata value is not JSON: \(text)")
      }
    }
    try self.init(fields: fields, file: file)
  }

  private init(fields: [String: JSON], file: String) throws {
    self.init()
    if let type = fields["peft_type"], type != .null, type.stringValue != "LORA" {
      throw SurgeryError(.unsupported, file, "peft_type \(type.text()) is not supported")
    }
    if let r = fields["r"], r != .null { rank = try Self.positiveInt(r, "r", file) }
    if let a = fields["lora_alpha"], a != .null {
      guard let value = a.doubleValue else { throw Self.badField("lora_alpha", "not a number", file) }
      alpha = value
    }
    useRSLoRA = try Self.flag(fields["use_rslora"], "use_rslora", file)
    fanInFanOut = try Self.flag(fields["fan_in_fan_out"], "fan_in_fan_out", file)
    useDoRA = try Self.flag(fields["use_dora"], "use_dora", file)
    loraBias = try Self.flag(fields["lora_bias"], "lora_bias", file)
    targetModules = try Self.names(fields["target_modules"], "target_modules", file)
    modulesToSave = try Self.names(fields["modules_to_save"], "modules_to_save", file)
    if case let .object(members)? = fields["rank_pattern"] {
      rankPattern = try members.map { ($0.0, try Self.positiveInt($0.1, "rank_pattern.\($0.0)", file)) }
    }
    if case let .object(members)? = fields["alpha_pattern"] {
      alphaPattern = try members.map { key, value in
        guard let alpha = value.doubleValue else {
          throw Self.badField("alpha_pattern.\(key)", "not a number", file)
        }
        return (key, alpha)
      }
    }
    for key in rankPattern.map(\.0) + alphaPattern.map(\.0) {
      guard (try? NSRegularExpression(pattern: "^(.*\\.)?(\(key))$")) != nil else {
        throw SurgeryError(.invalidSettings, file, "pattern key '\(key)' is not a valid regular expression")
      }
    }
  }

  private static func badField(_ field: String, _ why: String, _ file: String) -> SurgeryError {
    SurgeryError(.invalidSettings, file, "field '\(field)': \(why)")
  }

  private static func positiveInt(_ value: JSON, _ field: String, _ file: String) throws -> Int {
    guard let n = value.doubleValue, n >= 1, n == n.rounded(), n < 1e9 else {
      throw badField(field, "not a positive integer", file)
    }
    return Int(n)
  }

  private static func flag(_ value: JSON?, _ field: String, _ file: String) throws -> Bool {
    switch value {
    case nil, .null?: return false
    case let .bool(b)?: return b
    default: throw badField(field, "not true or false", file)
    }
  }

  /// `target_modules` may also be one regex string or "all-linear" in PEFT; kept as one entry.
  private static func names(_ value: JSON?, _ field: String, _ file: String) throws -> [String] {
    switch value {
    case nil, .null?: return []
    case let .string(s)?: return [s]
    case let .array(items)?:
      return try items.map {
        guard let s = $0.stringValue else { throw badField(field, "not a list of names", file) }
        return s
      }
    default: throw badField(field, "not a list of names", file)
    }
  }

  /// The settings as __metadata__ entries (JSON text values), as kswap writes them.
  public var metadata: [String: String] {
    var out: [String: String] = ["peft_type": "\"LORA\""]
    if let rank { out["r"] = String(rank) }
    if let alpha { out["lora_alpha"] = JSON.number(alpha).text() }
    out["use_rslora"] = useRSLoRA ? "true" : "false"
    out["target_modules"] = JSON.array(targetModules.map { .string($0) }).text()
    out["modules_to_save"] = JSON.array(modulesToSave.map { .string($0) }).text()
    out["rank_pattern"] = JSON.object(rankPattern.map { ($0.0, .integer($0.1)) }).text()
    out["alpha_pattern"] = JSON.object(alphaPattern.map { ($0.0, .number($0.1)) }).text()
    return out
  }

  /// PEFT's `get_pattern_key`: the first key (in file order) whose regex `(.*\.)?(KEY)$` matches the
  /// whole module name.
  public static func patternKey<Value>(_ pattern: [(String, Value)], module: String) -> (String, Value)? {
    let range = NSRange(module.startIndex..., in: module)
    for entry in pattern {
      guard let regex = try? NSRegularExpression(pattern: "^(.*\\.)?(\(entry.0))$") else { continue }
      if regex.firstMatch(in: module, range: range) != nil { return entry }
    }
    return nil
  }

  /// The factor that multiplies B A for `module`, given the rank of its matrices; `file`, the adapter,
  /// names it in errors.
  public func scale(module: String, rank matrixRank: Int, file: String) throws -> Double {
    if let expected = Self.patternKey(rankPattern, module: module)?.1 ?? rank, expected != matrixRank {
      throw SurgeryError(
        .invalidSettings, file,
        "module \(module): the LoRA matrices have rank \(matrixRank) but r / rank_pattern says \(expected)")
    }
    guard let moduleAlpha = Self.patternKey(alphaPattern, module: module)?.1 ?? alpha else {
      throw SurgeryError(.invalidSettings, file, Self.missingAlpha)
    }
    let r = Double(matrixRank)
    return useRSLoRA ? moduleAlpha / r.squareRoot() : moduleAlpha / r
  }
}
