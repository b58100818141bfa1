// A small JSON reader and writer that keeps object keys in file order: PEFT picks the first
// matching `rank_pattern` key in file order, and the diff report's JSON must be byte-stable.

import Foundation

public indirect enum JSONValue: Equatable, Sendable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null): return true
    case let (.bool(a), .bool(b)): return a == b
    case let (.number(a), .number(b)): return a == b
    case let (.string(a), .string(b)): return a == b
    case let (.array(a), .array(b)): return a == b
    case let (.object(a), .object(b)):
      return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    default: return false
    }
  }

  public subscript(key: String) -> JSONValue? {
    if case let .object(members) = self { return members.first { $0.0 == key }?.1 }
    return nil
  }

  public var doubleValue: Double? { if case let .number(n) = self { return n } else { return nil } }
  public var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }
  public var boolValue: Bool? { if case let .bool(b) = self { return b } else { return nil } }
}

public struct JSONParseError: Error, CustomStringConvertible {
  public let offset: Int
  public let reason: String
  public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

extension JSONValue {
  public init(parsing text: String) throws {
    var parser = Parser(bytes: Array(text.utf8))
    parser.skipSpace()
    self = try parser.value(depth: 0)
    parser.skipSpace()
    if parser.index != parser.bytes.count { throw parser.error("text after the value") }
  }

  private struct Parser {
    let bytes: [UInt8]
    var index = 0

    func error(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

    mutating func skipSpace() {
      while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func expect(_ literal: String) throws {
      for byte in literal.utf8 {
        guard index < bytes.count, bytes[index] == byte else { throw error("expected \(literal)") }
        index += 1
      }
    }

    mutating func value(depth: Int) throws -> JSONValue {
      guard depth < 64 else { throw error("nested too deeply") }
      guard index < bytes.count else { throw error("unexpected end") }
      switch bytes[index] {
      case UInt8(ascii: "{"):
        index += 1
        var members: [(String, JSONValue)] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
          skipSpace()
          let key = try string()
          skipSpace()
          try expect(":")
          skipSpace()
          members.append((key, try value(depth: depth + 1)))
          skipSpace()
          guard index < bytes.count else { throw error("unexpected end in object") }
          if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
          try expect("}")
          return .object(members)
        }
      case UInt8(ascii: "["):
        index += 1
        var items: [JSONValue] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
        while true {
          skipSpace()
          items.append(try value(depth: depth + 1))
          skipSpace()
          guard index < bytes.count else { throw error("unexpected end in array") }
          if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
          try expect("]")
          return .array(items)
        }
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t"): try expect("true"); return .bool(true)
      case UInt8(ascii: "f"): try expect("false"); return .bool(false)
      case UInt8(ascii: "n"): try expect("null"); return .null
      default: return .number(try number())
      }
    }

    mutating func number() throws -> Double {
      let start = index
      while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
      guard index > start, let text = String(bytes: bytes[start..<index], encoding: .utf8),
        let number = Double(text), number.isFinite
      else { index = start; throw error("expected a value") }
      return number
    }

    mutating func string() throws -> String {
      try expect("\"")
      var scalars = String.UnicodeScalarView()
      var run: [UInt8] = []
      func flush() { scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars); run.removeAll() }
      while index < bytes.count {
        let byte = bytes[index]
        index += 1
        if byte == UInt8(ascii: "\"") { flush(); return String(scalars) }
        if byte < 0x20 { throw error("control character in string") }
        guard byte == UInt8(ascii: "\\") else { run.append(byte); continue }
        flush()
        guard index < bytes.count else { break }
        let escape = bytes[index]
        index += 1
        switch escape {
        case UInt8(ascii: "\""): scalars.append("\"")
        case UInt8(ascii: "\\"): scalars.append("\\")
        case UInt8(ascii: "/"): scalars.append("/")
        case UInt8(ascii: "b"): scalars.append("\u{08}")
        case UInt8(ascii: "f"): scalars.append("\u{0C}")
        case UInt8(ascii: "n"): scalars.append("\n")
        case UInt8(ascii: "r"): scalars.append("\r")
        case UInt8(ascii: "t"): scalars.append("\t")
        case UInt8(ascii: "u"):
          var code = try hex4()
          if (0xD800..<0xDC00).contains(code) {
            try expect("\\u")
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
          scalars.append(scalar)
        default: throw error("invalid escape")
        }
      }
      throw error("unterminated string")
    }

    mutating func hex4() throws -> UInt32 {
      guard index + 4 <= bytes.count,
        let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
      else { throw error("invalid \\u escape") }
      index += 4
      return code
    }
  }
}

extension JSONValue {
  /// Compact JSON text; `indent` > 0 pretty-prints with that many spaces per level.
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
    case let .number(n): out += JSONValue.format(n)
    case let .string(s): out += JSONValue.quote(s)
    case let .array(items):
      if items.isEmpty { out += "[]"; return }
      out += "[" + newline
      for (i, item) in items.enumerated() {
        out += pad(level + 1)
        item.write(to: &out, indent: indent, level: level + 1)
        out += (i + 1 < items.count ? "," : "") + newline
      }
      out += pad(level) + "]"
    case let .object(members):
      if members.isEmpty { out += "{}"; return }
      out += "{" + newline
      for (i, (key, value)) in members.enumerated() {
        out += pad(level + 1) + JSONValue.quote(key) + (indent > 0 ? ": " : ":")
        value.write(to: &out, indent: indent, level: level + 1)
        out += (i + 1 < members.count ? "," : "") + newline
      }
      out += pad(level) + "}"
    }
  }

  /// Integers print without a fraction; other finite numbers in Swift's shortest round-trip form;
  /// NaN and infinities have no JSON spelling and print as null.
  static func format(_ n: Double) -> String {
    guard n.isFinite else { return "null" }
    if n == n.rounded(), abs(n) < 1e15 { return String(Int64(n)) }
    return "\(n)"
  }

  static func quote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 {
          out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
            + String(scalar.value, radix: 16)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
