// A JSON value with ordered keys, written deterministically: the same value, the same bytes.

/// A JSON document built in code for a tool's `--json` output.
///
/// Object members keep the order they are given in (Formats/ documents that order), doubles are
/// written in their shortest round-trip form (integral values without `.0`), and non-finite doubles,
/// which JSON cannot express, become `null`.
public enum JSON: Equatable, Sendable {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case array([JSON])
  case object([(String, JSON)])

  public static func == (a: JSON, b: JSON) -> Bool { a.rendered() == b.rendered() }

  /// A double, or `null` when there is none.
  public static func number(_ value: Double?) -> JSON {
    value.map { .double($0) } ?? .null
  }

  /// A count or size, or `null` when unknown.
  public static func integer(_ value: Int?) -> JSON {
    value.map { .int($0) } ?? .null
  }

  /// Compact text, no spaces, no trailing newline.
  public func rendered() -> String {
    var text = ""
    write(to: &text)
    return text
  }

  private func write(to text: inout String) {
    switch self {
    case .null: text += "null"
    case .bool(let value): text += value ? "true" : "false"
    case .int(let value): text += String(value)
    case .double(let value): text += JSON.format(value)
    case .string(let value): JSON.quote(value, into: &text)
    case .array(let items):
      text += "["
      for (index, item) in items.enumerated() {
        if index > 0 { text += "," }
        item.write(to: &text)
      }
      text += "]"
    case .object(let members):
      text += "{"
      for (index, (key, value)) in members.enumerated() {
        if index > 0 { text += "," }
        JSON.quote(key, into: &text)
        text += ":"
        value.write(to: &text)
      }
      text += "}"
    }
  }

  static func format(_ value: Double) -> String {
    guard value.isFinite else { return "null" }
    if value == value.rounded(), abs(value) < 9.0e15 {
      return value == 0 && value.sign == .minus ? "-0" : String(Int64(value))
    }
    return "\(value)"
  }

  static func quote(_ string: String, into text: inout String) {
    text += "\""
    for scalar in string.unicodeScalars {
      switch scalar {
      case "\"": text += "\\\""
      case "\\": text += "\\\\"
      case "\n": text += "\\n"
      case "\r": text += "\\r"
      case "\t": text += "\\t"
      case "\u{08}": text += "\\b"
      case "\u{0C}": text += "\\f"
      case "\u{00}"..."\u{1F}", "\u{7F}":
        let hex = String(scalar.value, radix: 16)
        text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: text.unicodeScalars.append(scalar)
      }
    }
    text += "\""
  }
}
