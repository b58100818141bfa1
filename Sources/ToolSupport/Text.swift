// Small text helpers the tools share: safe names on a terminal, glob patterns, byte counts, number lists.

import Glibc

/// `name` with control characters written as escapes, so a tensor name cannot move the cursor or
/// recolour a terminal: `\n`, `\t`, `\r`, `\\`, and `\xHH` / `\u{HHHH}` for the other C0, DEL and C1
/// characters. Printable text, including non-ASCII letters, passes unchanged.
public func escapeControlCharacters(_ name: String) -> String {
  var result = ""
  for scalar in name.unicodeScalars {
    switch scalar {
    case "\n": result += "\\n"
    case "\t": result += "\\t"
    case "\r": result += "\\r"
    case "\\": result += "\\\\"
    case "\u{00}"..."\u{1F}", "\u{7F}":
      result += "\\x" + hex(scalar.value, digits: 2)
    case "\u{80}"..."\u{9F}", "\u{2028}", "\u{2029}", "\u{202A}"..."\u{202E}", "\u{2066}"..."\u{2069}":
      // C1 controls, line separators and bidirectional overrides can also rewrite what a reader sees.
      result += "\\u{" + hex(scalar.value, digits: 4) + "}"
    default:
      result.unicodeScalars.append(scalar)
    }
  }
  return result
}

private func hex(_ value: UInt32, digits: Int) -> String {
  let text = String(value, radix: 16, uppercase: true)
  return String(repeating: "0", count: max(0, digits - text.count)) + text
}

/// A shell-style pattern (`*`, `?`, `[...]`) matched against a whole tensor name; `*` also matches
/// dots, so `blocks.*.mlp.*` selects every block's MLP.
public struct Glob: Sendable, Equatable {
  public let pattern: String

  public init(_ pattern: String) {
    self.pattern = pattern
  }

  public func matches(_ name: String) -> Bool {
    fnmatch(pattern, name, 0) == 0
  }
}

/// `1234567` -> `1.2 MB` (decimal units, as `ls -h --si` and disk vendors count).
public func formatByteCount(_ bytes: Int) -> String {
  let units = ["B", "kB", "MB", "GB", "TB", "PB"]
  var value = Double(bytes)
  var unit = 0
  while value >= 1000 && unit < units.count - 1 {
    value /= 1000
    unit += 1
  }
  if unit == 0 { return "\(bytes) B" }
  let digits = value < 10 ? 2 : value < 100 ? 1 : 0
  return formatFixed(value, digits: digits) + " " + units[unit]
}

/// `value` with exactly `digits` decimals (`%.*f`), independent of any locale.
public func formatFixed(_ value: Double, digits: Int) -> String {
  formatC("%.*f", digits, value)
}

/// `value` with `digits` significant digits (`%.*g`: trailing zeros dropped, exponent when large or small).
public func formatSignificant(_ value: Double, digits: Int) -> String {
  formatC("%.*g", digits, value)
}

private func formatC(_ format: String, _ digits: Int, _ value: Double) -> String {
  var buffer = [CChar](repeating: 0, count: 64)
  _ = withVaList([Int32(digits), value]) { vsnprintf(&buffer, buffer.count, format, $0) }
  return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Comma-separated finite numbers such as `--mean 0.485,0.456,0.406` (blanks around each allowed);
/// nil when a field is not one.
public func parseNumbers(_ text: String) -> [Double]? {
  func isBlank(_ c: Character) -> Bool { c == " " || c == "\t" }
  let values = text.split(separator: ",").map { field in
    Double(String(field.drop(while: isBlank).reversed().drop(while: isBlank).reversed()))
  }
  guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0!.isFinite }) else { return nil }
  return values.map { $0! }
}
