// The base model's fingerprint recorded in an adapter (`kswap.base_fingerprint`): FNV-1a 64 over one
// line per tensor (name, shape, first 8 values as float32 bits), lines sorted by name. Computable in
// one streaming pass; Formats/adapter.md has the exact definition and a Python equivalent.

public struct BaseFingerprint: Sendable {
  public static let metadataKey = "kswap.base_fingerprint"
  public static let sampleCount = 8

  private var lines: [(name: [UInt8], line: [UInt8])] = []

  public init() {}

  /// Adds one tensor. `sample` holds its first (up to 8) elements as Float, or nil for a non-float tensor.
  public mutating func add(name: String, shape: [Int], sample: [Float]?) {
    var line = name + " " + (shape.isEmpty ? "scalar" : shape.map(String.init).joined(separator: "x"))
    for value in (sample ?? []).prefix(Self.sampleCount) {
      let hex = String(value.bitPattern, radix: 16)
      line += " " + String(repeating: "0", count: 8 - hex.count) + hex
    }
    lines.append((Array(name.utf8), Array((line + "\n").utf8)))
  }

  /// `fnv1a64:` and 16 hex digits.
  public var value: String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for entry in lines.sorted(by: { $0.name.lexicographicallyPrecedes($1.name) }) {
      for byte in entry.line {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
      }
    }
    let hex = String(hash, radix: 16)
    return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
  }
}
