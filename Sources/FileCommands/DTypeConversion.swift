// kswap-pack --dtype: convert a tensor's values, and refuse conversions that would change them
// beyond rounding unless --lossy is given.

import TensorFile

/// One tensor's bytes converted to a floating-point dtype, with a single rounding to nearest even.
enum DTypeConversion {
  /// The floating-point dtypes `--dtype` may name.
  static let targets: [DType] = [.f32, .f16, .bf16]

  /// Converts `bytes` of `info` to `target`.
  ///
  /// Floats round to nearest even; a finite value too large for `target` would become infinite,
  /// which is refused unless `lossy`. Integers and BOOL convert only when every value is exactly
  /// representable in `target` (F16 holds integers up to 2048 exactly, BF16 up to 256, F32 up to
  /// 2^24), unless `lossy`.
  static func convert(_ bytes: [UInt8], info: TensorInfo, to target: DType, lossy: Bool, file: String) throws
    -> [UInt8]
  {
    if info.dtype == target { return bytes }
    if info.dtype.isConvertibleFloat {
      let converted = try FloatConversion.convert(bytes, from: info.dtype, to: target, file: file, tensor: info.name)
      if !lossy {
        let overflowed = infinityCount(converted, dtype: target) - infinityCount(bytes, dtype: info.dtype)
        if overflowed > 0 {
          throw TensorFileError(
            .conversion, file: file, tensor: info.name,
            "\(overflowed) finite \(info.dtype.name) values are too large for \(target.name) and would become infinite; add --lossy to accept that"
          )
        }
      }
      return converted
    }
    guard info.dtype.isInteger || info.dtype == .bool else {
      throw TensorFileError(
        .conversion, file: file, tensor: info.name, "cannot convert \(info.dtype.name) values to \(target.name)")
    }
    var inexact = 0
    var firstInexact: (index: Int, value: String)?
    let converted = convertIntegers(bytes, dtype: info.dtype, to: target) { index, value in
      inexact += 1
      if firstInexact == nil { firstInexact = (index, value) }
    }
    if inexact > 0 && !lossy, let first = firstInexact {
      throw TensorFileError(
        .conversion, file: file, tensor: info.name,
        "\(inexact) of \(info.elementCount) \(info.dtype.name) values are not exactly representable in \(target.name) (first: \(first.value) at index \(first.index)); add --lossy to round them"
      )
    }
    return converted
  }

  /// How many elements of a float tensor are infinite.
  static func infinityCount(_ bytes: [UInt8], dtype: DType) -> Int {
    bytes.withUnsafeBytes { raw in
      var count = 0
      switch dtype {
      case .f16:
        for i in 0..<(raw.count / 2)
        where raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian & 0x7FFF == 0x7C00 { count += 1 }
      case .bf16:
        for i in 0..<(raw.count / 2)
        where raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian & 0x7FFF == 0x7F80 { count += 1 }
      case .f32:
        for i in 0..<(raw.count / 4)
        where raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian & 0x7FFF_FFFF == 0x7F80_0000 {
          count += 1
        }
      case .f64:
        for i in 0..<(raw.count / 8)
        where Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian).isInfinite {
          count += 1
        }
      default: break
      }
      return count
    }
  }

  /// Integer (or BOOL) bytes as `target` floats; `inexact(index, value)` is called for each value
  /// that does not survive the round trip.
  static func convertIntegers(
    _ bytes: [UInt8], dtype: DType, to target: DType, inexact: (Int, String) -> Void
  ) -> [UInt8] {
    bytes.withUnsafeBytes { raw in
      switch dtype {
      case .bool, .u8: return convert(raw, width: 1, to: target, inexact: inexact) { UInt8($0[$1]) }
      case .i8: return convert(raw, width: 1, to: target, inexact: inexact) { Int8(bitPattern: $0[$1]) }
      case .i16:
        return convert(raw, width: 2, to: target, inexact: inexact) {
          Int16(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: Int16.self))
        }
      case .u16:
        return convert(raw, width: 2, to: target, inexact: inexact) {
          UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: UInt16.self))
        }
      case .i32:
        return convert(raw, width: 4, to: target, inexact: inexact) {
          Int32(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: Int32.self))
        }
      case .u32:
        return convert(raw, width: 4, to: target, inexact: inexact) {
          UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: UInt32.self))
        }
      case .i64:
        return convert(raw, width: 8, to: target, inexact: inexact) {
          Int64(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: Int64.self))
        }
      default:
        return convert(raw, width: 8, to: target, inexact: inexact) {
          UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: UInt64.self))
        }
      }
    }
  }

  private static func convert<I: BinaryInteger>(
    _ raw: UnsafeRawBufferPointer, width: Int, to target: DType, inexact: (Int, String) -> Void,
    load: (UnsafeRawBufferPointer, Int) -> I
  ) -> [UInt8] {
    let count = raw.count / width
    let outputWidth = target == .f32 ? 4 : 2
    var output = [UInt8](repeating: 0, count: count * outputWidth)
    output.withUnsafeMutableBytes { out in
      for index in 0..<count {
        let value = load(raw, index * width)
        let back: Float
        switch target {
        case .f32:
          let single = Float(value)  // rounds to nearest even
          out.storeBytes(of: single.bitPattern.littleEndian, toByteOffset: 4 * index, as: UInt32.self)
          back = single
        case .f16:
          let half = Float16(value)
          out.storeBytes(of: half.bitPattern.littleEndian, toByteOffset: 2 * index, as: UInt16.self)
          back = Float(half)
        default:
          // Exact in Double up to 2^53; bfloat16Bits(Double) then rounds once.
          let bits = FloatConversion.bfloat16Bits(Double(value))
          out.storeBytes(of: bits.littleEndian, toByteOffset: 2 * index, as: UInt16.self)
          back = FloatConversion.float(bfloat16Bits: bits)
        }
        if I(exactly: back) != value { inexact(index, String(value)) }
      }
    }
    return output
  }
}
