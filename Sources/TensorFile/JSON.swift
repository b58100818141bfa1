// A small JSON reader and writer, written here rather than taken from Foundation so the header can be
// exactly as strict as the reference reader (serde_json): integers are kept as their literal text
// (Foundation turns big integers into doubles and lets duplicate keys silently collapse), the
// whitespace set, the escape rules, lone surrogates and the nesting limit all match serde_json.

// The one JSON value of the toolchain: the safetensors header needs a reader and writer exactly as
// strict as the reference (serde_json), so it is written here rather than taken from Foundation:
// numbers are kept as their literal text (Foundation turns big integers into doubles and lets
// duplicate keys silently collapse), the whitespace set, the escape rules, lone surrogates and the
// nesting limit all match serde_json. The tools build their `--json` output, adapter configs and
// metadata values with the same type, so every JSON kswap writes comes from one renderer.

/// A JSON value whose objects keep their members in document order, duplicates included.
///
/// Numbers hold their literal text, validated against the JSON grammar when parsed; build them with
/// `number(_:)` and `integer(_:)`. Two values are equal when they have the same structure and the
/// same number text.
public indirect enum JSON: Equatable, Sendable {
  case object([(key: String, value: JSON)])
  case array([JSON])
  case string(String)
  case number(String)
  case bool(Bool)
  case null

  public static func == (a: JSON, b: JSON) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case let (.bool(x), .bool(y)): return x == y
    case let (.number(x), .number(y)): return x == y
    case let (.string(x), .string(y)): return x == y
    case let (.array(x), .array(y)): return x == y
    case let (.object(x), .object(y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    default: return false
    }
  }

  // MARK: building

  /// A double in its shortest round-trip form (integral values below 9e15 without `.0`, negative
  /// zero as `-0`), or `null` when there is none or it is not finite, which JSON cannot express.
  public static func number(_ value: Double?) -> JSON {
    guard let value, value.isFinite else { return .null }
    if value == value.rounded(), abs(value) < 9.0e15 {
      return .number(value == 0 && value.sign == .minus ? "-0" : String(Int64(value)))
    }
    return .number("\(value)")
  }

  /// A count or size, or `null` when unknown.
  public static func integer(_ value: Int?) -> JSON {
    value.map { .number(String($0)) } ?? .null
  }

  /// An object of strings with its keys sorted by their UTF-8 bytes (deterministic bytes).
  public static func sortedStrings(_ map: [String: String]) -> JSON {
    .object(
      map.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        .map { ($0.key, .string($0.value)) })
  }

  // MARK: reading

  /// Parses one JSON document; what is refused (syntax, nesting deeper than 128) is an `invalidJSON`
  /// error that names `file`, the file the text comes from.
  public init(parsing text: String, file: String) throws {
    self = try JSONParser.parse(text.utf8, file: file)
  }

  /// The largest JSON file read whole (config.json, preprocessor_config.json, adapter_config.json):
  /// 16 MiB. Such files take kilobytes, about a megabyte where they name tens of thousands of classes.
  public static let maxFileSize = 1 << 24

  /// Reads and parses the JSON file at `path`; one over `maxFileSize` bytes is refused before it is read.
  public init(contentsOf path: String) throws {
    let input = try InputFile(path: path)
    func tooLarge(_ size: String) -> TensorFileError {
      TensorFileError(
        .limitExceeded, file: path, "\(size) bytes, over the limit of \(Self.maxFileSize) for a JSON file")
    }
    let bytes: [UInt8]
    if let size = input.size {
      guard size <= Self.maxFileSize else { throw tooLarge("\(size)") }
      bytes = try input.read(at: 0, count: size, what: "the file")
    } else {
      bytes = try input.readUpTo(Self.maxFileSize + 1)
      guard bytes.count <= Self.maxFileSize else { throw tooLarge("more than \(Self.maxFileSize)") }
    }
    try self.init(parsing: String(decoding: bytes, as: UTF8.self), file: path)
  }

  /// The first member called `key` of an object; nil for a missing key or a value that is no object.
  public subscript(key: String) -> JSON? {
    if case let .object(members) = self { return members.first { $0.key == key }?.value }
    return nil
  }

  public var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }
  public var boolValue: Bool? { if case let .bool(b) = self { return b } else { return nil } }
  public var arrayValue: [JSON]? { if case let .array(items) = self { return items } else { return nil } }

  /// A number as a finite double; nil for other values and for literals too large for a double.
  public var doubleValue: Double? {
    guard case let .number(text) = self, let value = Double(text), value.isFinite else { return nil }
    return value
  }

  /// An integer literal (no fraction or exponent) that fits an `Int`.
  public var intValue: Int? {
    guard case let .number(text) = self else { return nil }
    return Int(text)
  }

  /// The value as a non-negative integer the way serde reads a `usize`: digits only, no sign,
  /// fraction or exponent (serde_json even reads "-0" as a float), at most UInt64.max. Values above
  /// Int.max are reported as nil too: no file can have such a size.
  var nonNegativeInt: Int? {
    guard case let .number(text) = self, !text.isEmpty,
      text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
    else { return nil }
    return Int(text)
  }

  var isInteger: Bool {
    guard case let .number(text) = self else { return false }
    return !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
  }
}

/// Parses one JSON value from UTF-8 bytes (already checked to be valid UTF-8), allowing JSON
/// whitespace (space, tab, LF, CR) before and after it and nothing else.
struct JSONParser {
  static let maxDepth = 128  // serde_json's recursion limit

  private let bytes: [UInt8]
  private let file: String
  private var index: Int

  static func parse<C: Collection>(_ utf8: C, file: String) throws -> JSON where C.Element == UInt8 {
    var parser = JSONParser(bytes: Array(utf8), file: file)
    parser.skipWhitespace()
    let value = try parser.parseValue(depth: 0)
    parser.skipWhitespace()
    guard parser.index == parser.bytes.count else { throw parser.error("trailing characters") }
    return value
  }

  private init(bytes: [UInt8], file: String) {
    self.bytes = bytes
    self.file = file
    self.index = 0
  }

  private func error(_ message: String) -> TensorFileError {
    TensorFileError(.invalidJSON, file: file, "invalid JSON: \(message) at byte \(index)")
  }

  private mutating func skipWhitespace() {
    while index < bytes.count {
      switch bytes[index] {
      case 0x20, 0x09, 0x0A, 0x0D: index += 1
      default: return
      }
    }
  }

  private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

  private mutating func expect(_ literal: String, value: JSON) throws -> JSON {
    let utf8 = Array(literal.utf8)
    guard bytes.count - index >= utf8.count, Array(bytes[index..<index + utf8.count]) == utf8 else {
      throw error("expected value")
    }
    index += utf8.count
    return value
  }

  private mutating func parseValue(depth: Int) throws -> JSON {
    guard let byte = current else { throw error("EOF while parsing a value") }
    switch byte {
    case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
    case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): return try expect("true", value: .bool(true))
    case UInt8(ascii: "f"): return try expect("false", value: .bool(false))
    case UInt8(ascii: "n"): return try expect("null", value: .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    default: throw error("expected value")
    }
  }

  private mutating func parseObject(depth: Int) throws -> JSON {
    guard depth <= JSONParser.maxDepth else { throw error("recursion limit exceeded") }
    index += 1
    var members: [(key: String, value: JSON)] = []
    skipWhitespace()
    if current == UInt8(ascii: "}") {
      index += 1
      return .object(members)
    }
    while true {
      skipWhitespace()
      guard current == UInt8(ascii: "\"") else { throw error("key must be a string") }
      let key = try parseString()
      skipWhitespace()
      guard current == UInt8(ascii: ":") else { throw error("expected ':'") }
      index += 1
      skipWhitespace()
      members.append((key, try parseValue(depth: depth)))
      skipWhitespace()
      switch current {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "}"):
        index += 1
        return .object(members)
      default: throw error("expected ',' or '}'")
      }
    }
  }

  private mutating func parseArray(depth: Int) throws -> JSON {
    guard depth <= JSONParser.maxDepth else { throw error("recursion limit exceeded") }
    index += 1
    var elements: [JSON] = []
    skipWhitespace()
    if current == UInt8(ascii: "]") {
      index += 1
      return .array(elements)
    }
    while true {
      skipWhitespace()
      elements.append(try parseValue(depth: depth))
      skipWhitespace()
      switch current {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "]"):
        index += 1
        return .array(elements)
      default: throw error("expected ',' or ']'")
      }
    }
  }

  private mutating func parseNumber() throws -> JSON {
    let start = index
    if current == UInt8(ascii: "-") { index += 1 }
    guard let first = current, isDigit(first) else { throw error("invalid number") }
    index += 1
    if first != UInt8(ascii: "0") {
      while let c = current, isDigit(c) { index += 1 }
    }
    if current == UInt8(ascii: ".") {
      index += 1
      guard let c = current, isDigit(c) else { throw error("invalid number") }
      while let c = current, isDigit(c) { index += 1 }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      index += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
      guard let c = current, isDigit(c) else { throw error("invalid number") }
      while let c = current, isDigit(c) { index += 1 }
    }
    return .number(String(decoding: bytes[start..<index], as: UTF8.self))
  }

  private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

  private mutating func parseString() throws -> String {
    index += 1  // opening quote
    var scalars = String.UnicodeScalarView()
    var runStart = index
    func flushRun(_ end: Int) {
      scalars.append(contentsOf: String(decoding: bytes[runStart..<end], as: UTF8.self).unicodeScalars)
    }
    while true {
      guard let c = current else { throw error("EOF while parsing a string") }
      switch c {
      case UInt8(ascii: "\""):
        flushRun(index)
        index += 1
        return String(scalars)
      case UInt8(ascii: "\\"):
        flushRun(index)
        index += 1
        scalars.append(try parseEscape())
        runStart = index
      case 0..<0x20:
        throw error("control character in string")
      default:
        index += 1
      }
    }
  }

  private mutating func parseEscape() throws -> Unicode.Scalar {
    guard let c = current else { throw error("EOF while parsing a string") }
    index += 1
    switch c {
    case UInt8(ascii: "\""): return "\""
    case UInt8(ascii: "\\"): return "\\"
    case UInt8(ascii: "/"): return "/"
    case UInt8(ascii: "b"): return "\u{08}"
    case UInt8(ascii: "f"): return "\u{0C}"
    case UInt8(ascii: "n"): return "\n"
    case UInt8(ascii: "r"): return "\r"
    case UInt8(ascii: "t"): return "\t"
    case UInt8(ascii: "u"):
      let high = try parseHex4()
      if (0xDC00...0xDFFF).contains(high) { throw error("lone trailing surrogate in \\u escape") }
      if (0xD800...0xDBFF).contains(high) {
        guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
        else { throw error("lone leading surrogate in \\u escape") }
        index += 2
        let low = try parseHex4()
        guard (0xDC00...0xDFFF).contains(low) else { throw error("lone leading surrogate in \\u escape") }
        return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
      }
      return Unicode.Scalar(high)!
    default:
      throw error("invalid escape")
    }
  }

  private mutating func parseHex4() throws -> UInt32 {
    guard bytes.count - index >= 4 else { throw error("EOF while parsing a string") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[index]
      let digit: UInt32
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
      default: throw error("invalid \\u escape")
      }
      value = value << 4 | digit
      index += 1
    }
    return value
  }
}

extension JSON {
  /// The text the way serde_json writes it: compact, no spaces; only '"', '\\' and control
  /// characters escaped. `indent` > 0 pretty-prints with that many spaces per level instead.
  public func text(indent: Int = 0) -> String {
    var out = ""
    write(to: &out, indent: indent, level: 0)
    return out
  }

  private func write(to out: inout String, indent: Int, level: Int) {
    let newline = indent > 0 ? "\n" : ""
    let pad = { (n: Int) in String(repeating: " ", count: indent * n) }
    switch self {
    case .null: out += "null"
    case let .bool(b): out += b ? "true" : "false"
    case let .number(text): out += text
    case let .string(s): JSON.quote(s, into: &out)
    case let .array(items):
      if items.isEmpty {
        out += "[]"
        return
      }
      out += "[" + newline
      for (i, item) in items.enumerated() {
        out += pad(level + 1)
        item.write(to: &out, indent: indent, level: level + 1)
        out += (i + 1 < items.count ? "," : "") + newline
      }
      out += pad(level) + "]"
    case let .object(members):
      if members.isEmpty {
        out += "{}"
        return
      }
      out += "{" + newline
      for (i, member) in members.enumerated() {
        out += pad(level + 1)
        JSON.quote(member.key, into: &out)
        out += indent > 0 ? ": " : ":"
        member.value.write(to: &out, indent: indent, level: level + 1)
        out += (i + 1 < members.count ? "," : "") + newline
      }
      out += pad(level) + "}"
    }
  }

  private static func quote(_ string: String, into out: inout String) {
    out += "\""
    for scalar in string.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    out += "\""
  }
}
