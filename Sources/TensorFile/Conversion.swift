// Conversions between the float dtypes and Swift's Float, each with a single round-to-nearest-even
// (ties to even) step, NaN kept NaN (with its sign), infinities kept infinite.

public enum FloatConversion {
  /// Float -> bfloat16 bits, round to nearest even.
  @inline(__always)
  public static func bfloat16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
    let roundingBias = 0x7FFF &+ ((bits >> 16) & 1)
    return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
  }

  @inline(__always)
  public static func float(bfloat16Bits bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
  }

  /// Double -> bfloat16 bits with one rounding: first to Float rounding to odd (which keeps the
  /// information a second rounding needs), then Float -> bfloat16 to nearest even.
  public static func bfloat16Bits(_ value: Double) -> UInt16 {
    if value.isNaN { return bfloat16Bits(Float.nan) | (value.sign == .minus ? 0x8000 : 0) }
    var single = Float(value)
    if Double(single) != value {  // inexact, including overflow to infinity
      if single.isInfinite || abs(Double(single)) > abs(value) {
        single = Float(bitPattern: single.bitPattern &- 1)  // one step toward zero
      }
      single = Float(bitPattern: single.bitPattern | 1)
    }
    return bfloat16Bits(single)
  }

  @inline(__always)
  public static func float16Bits(_ value: Float) -> UInt16 { Float16(value).bitPattern }

  @inline(__always)
  public static func float(float16Bits bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

  /// Raw little-endian bytes of an F16, BF16, F32 or F64 tensor as Floats (F64 rounds to nearest even).
  @_optimize(speed)  // hot loops: fast in debug builds too
  public static func floats(from bytes: [UInt8], dtype: DType, file: String = "<tensor>", tensor: String? = nil) throws
    -> [Float]
  {
    guard dtype.isConvertibleFloat else {
      throw TensorFileError(
        .conversion, file: file, tensor: tensor, "cannot read \(dtype.name) as Float; expected F16, BF16, F32 or F64")
    }
    let width = dtype.byteWidth!
    guard bytes.count % width == 0 else {
      throw TensorFileError(
        .conversion, file: file, tensor: tensor, "\(bytes.count) bytes is not a whole number of \(dtype.name) elements")
    }
    let count = bytes.count / width
    return bytes.withUnsafeBytes { raw in
      [Float](unsafeUninitializedCapacity: count) { out, initialized in
        switch dtype {
        case .f16:
          for i in 0..<count {
            out[i] = float(float16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
          }
        case .bf16:
          for i in 0..<count {
            out[i] = float(
              bfloat16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
          }
        case .f32:
          for i in 0..<count {
            out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
          }
        default:
          for i in 0..<count {
            out[i] = Float(
              Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
          }
        }
        initialized = count
      }
    }
  }

  /// Floats as the raw little-endian bytes of an F16, BF16, F32 or F64 tensor.
  @_optimize(speed)
  public static func bytes(from floats: [Float], dtype: DType, file: String = "<tensor>", tensor: String? = nil) throws
    -> [UInt8]
  {
    guard dtype.isConvertibleFloat else {
      throw TensorFileError(
        .conversion, file: file, tensor: tensor, "cannot write Float as \(dtype.name); expected F16, BF16, F32 or F64")
    }
    let width = dtype.byteWidth!
    return [UInt8](unsafeUninitializedCapacity: floats.count * width) { raw, initialized in
      let out = UnsafeMutableRawBufferPointer(raw)
      for (i, value) in floats.enumerated() {
        switch dtype {
        case .f16: out.storeBytes(of: float16Bits(value).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        case .bf16: out.storeBytes(of: bfloat16Bits(value).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        case .f32: out.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
        default: out.storeBytes(of: Double(value).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
        }
      }
      initialized = floats.count * width
    }
  }

  /// Converts raw bytes between F16, BF16, F32 and F64 with a single rounding to nearest even.
  @_optimize(speed)
  public static func convert(
    _ bytes: [UInt8], from source: DType, to target: DType, file: String = "<tensor>", tensor: String? = nil
  ) throws -> [UInt8] {
    if source == target { return bytes }
    guard source.isConvertibleFloat, target.isConvertibleFloat else {
      throw TensorFileError(
        .conversion, file: file, tensor: tensor,
        "cannot convert \(source.name) to \(target.name); only F16, BF16, F32 and F64 convert")
    }
    guard source == .f64 else {
      // Every F16, BF16 and F32 value is exact as a Float, so going through Float rounds once.
      return try self.bytes(from: floats(from: bytes, dtype: source, file: file, tensor: tensor), dtype: target)
    }
    let count = bytes.count / 8
    let width = target.byteWidth!
    return bytes.withUnsafeBytes { raw in
      [UInt8](unsafeUninitializedCapacity: count * width) { buffer, initialized in
        let out = UnsafeMutableRawBufferPointer(buffer)
        for i in 0..<count {
          let value = Double(
            bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
          switch target {
          case .f16: out.storeBytes(of: Float16(value).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
          case .bf16: out.storeBytes(of: bfloat16Bits(value).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
          default: out.storeBytes(of: Float(value).bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
          }
        }
        initialized = count * width
      }
    }
  }
}
