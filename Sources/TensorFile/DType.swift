// Element types, spelled and ordered exactly as the safetensors reference declares them. The
// declaration order matters: the reference writer sorts tensors by it (widest first), which is what
// keeps every tensor aligned to its element size without padding.

public enum DType: String, CaseIterable, Sendable, Codable, Comparable {
  case bool = "BOOL"
  case f4 = "F4"
  case f6E2M3 = "F6_E2M3"
  case f6E3M2 = "F6_E3M2"
  case u8 = "U8"
  case i8 = "I8"
  case f8E5M2 = "F8_E5M2"
  case f8E4M3 = "F8_E4M3"
  case f8E8M0 = "F8_E8M0"
  case f8E4M3FNUZ = "F8_E4M3FNUZ"
  case f8E5M2FNUZ = "F8_E5M2FNUZ"
  case i16 = "I16"
  case u16 = "U16"
  case f16 = "F16"
  case bf16 = "BF16"
  case i32 = "I32"
  case u32 = "U32"
  case f32 = "F32"
  case c64 = "C64"
  case f64 = "F64"
  case i64 = "I64"
  case u64 = "U64"

  /// The safetensors spelling ("F32", "BF16", ...); case-sensitive, as in the reference.
  public var name: String { rawValue }

  /// Parses a safetensors dtype name; nil for unknown or wrongly cased names.
  public init?(name: String) { self.init(rawValue: name) }

  public var bitsPerElement: Int {
    switch self {
    case .f4: return 4
    case .f6E2M3, .f6E3M2: return 6
    case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: return 8
    case .i16, .u16, .f16, .bf16: return 16
    case .i32, .u32, .f32: return 32
    case .c64, .f64, .i64, .u64: return 64
    }
  }

  /// True for the packed types (F4, F6_*) whose elements do not fill whole bytes.
  public var isSubByte: Bool { bitsPerElement < 8 }

  /// Bytes per element for whole-byte types; nil for the sub-byte ones.
  public var byteWidth: Int? { isSubByte ? nil : bitsPerElement / 8 }

  /// The four IEEE-style float types that convert to and from `Float` (see Conversion.swift).
  public var isConvertibleFloat: Bool { self == .f16 || self == .bf16 || self == .f32 || self == .f64 }

  public var isInteger: Bool {
    switch self {
    case .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64: return true
    default: return false
    }
  }

  /// Position in the reference's declaration order.
  public var rank: Int { DType.allCases.firstIndex(of: self)! }

  public static func < (a: DType, b: DType) -> Bool { a.rank < b.rank }

  /// Byte count of `elements` elements, or nil when it overflows or, for a sub-byte type, when the
  /// bits do not fill whole bytes (the reference's ValidationOverflow / MisalignedSlice).
  public func byteCount(elements: Int) -> Int? {
    let (bits, overflow) = elements.multipliedReportingOverflow(by: bitsPerElement)
    guard !overflow, elements >= 0, bits % 8 == 0 else { return nil }
    return bits / 8
  }
}

/// Element count of a shape: the product of its dimensions (1 for a scalar), nil on overflow or a
/// negative dimension.
public func elementCount(of shape: [Int]) -> Int? {
  var count = 1
  for dimension in shape {
    guard dimension >= 0 else { return nil }
    let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
    guard !overflow else { return nil }
    count = product
  }
  return count
}
