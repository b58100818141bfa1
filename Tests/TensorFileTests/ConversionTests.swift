// Float conversions (round to nearest even, NaN kept, one rounding from F64), dtype facts, XXH64.

import SeededRandom
import Testing

@testable import TensorFile

@Suite struct Conversions {
  @Test func bfloat16RoundsToNearestEven() {
    // 1 + 2^-8 is exactly half-way between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
    #expect(FloatConversion.bfloat16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)
    // 1 + 3·2^-8 is half-way between 1 + 2^-7 (odd) and 1 + 2^-6: goes up to even.
    #expect(FloatConversion.bfloat16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)
    #expect(FloatConversion.bfloat16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
    #expect(FloatConversion.bfloat16Bits(Float(bitPattern: 0x3F80_7FFF)) == 0x3F80)
    #expect(FloatConversion.bfloat16Bits(Float.greatestFiniteMagnitude) == 0x7F80)  // overflows to infinity
    #expect(FloatConversion.bfloat16Bits(-Float.infinity) == 0xFF80)
    #expect(FloatConversion.bfloat16Bits(-0.0 as Float) == 0x8000)
  }

  @Test func nanStaysNaN() {
    for bits: UInt32 in [0x7FC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FFF_FFFF] {
      let nan = Float(bitPattern: bits)
      let bf16 = FloatConversion.bfloat16Bits(nan)
      #expect(FloatConversion.float(bfloat16Bits: bf16).isNaN)
      #expect((bf16 & 0x8000 != 0) == (bits & 0x8000_0000 != 0))
      #expect(FloatConversion.float(float16Bits: FloatConversion.float16Bits(nan)).isNaN)
    }
    #expect(FloatConversion.bfloat16Bits(Double.nan) & 0x7FFF > 0x7F80)
  }

  @Test func float16RoundsToNearestEven() {
    #expect(FloatConversion.float16Bits(1 + 1.0 / 2048) == 0x3C00)  // tie -> even
    #expect(FloatConversion.float16Bits(1 + 3.0 / 2048) == 0x3C02)
    #expect(FloatConversion.float16Bits(65520) == 0x7C00)  // rounds to infinity
    #expect(FloatConversion.float16Bits(65519) == 0x7BFF)
    #expect(FloatConversion.float(float16Bits: 0x0001) == Float(Float16.leastNonzeroMagnitude))
  }

  @Test func doubleToBFloat16RoundsOnce() {
    // 1 + 2^-8 + 2^-30 is just above the tie: rounding through Float (to nearest) would land on the
    // tie and then round to even (down); a single rounding goes up.
    let value = 1 + 1.0 / 256 + 1.0 / 1_073_741_824
    #expect(FloatConversion.bfloat16Bits(value) == 0x3F81)
    #expect(FloatConversion.bfloat16Bits(Float(value)) == 0x3F80)
    #expect(FloatConversion.bfloat16Bits(1e300) == 0x7F80)
    #expect(FloatConversion.bfloat16Bits(-1e-300) == 0x8000)
    #expect(FloatConversion.bfloat16Bits(1.0) == 0x3F80)
  }

  @Test func convertBetweenFloatTypes() throws {
    let values: [Float] = [0, -0, 1, -2.5, 1e-3, 3.1415927, .infinity, -.infinity, 65504, 1e-7]
    for source in [DType.f16, .bf16, .f32, .f64] {
      let bytes = try FloatConversion.bytes(from: values, dtype: source)
      #expect(bytes.count == values.count * source.byteWidth!)
      let exact = try FloatConversion.floats(from: bytes, dtype: source)
      for target in [DType.f16, .bf16, .f32, .f64] {
        let converted = try FloatConversion.convert(bytes, from: source, to: target)
        // Converting then reading equals reading then converting (one rounding either way).
        #expect(
          try FloatConversion.floats(from: converted, dtype: target)
            == FloatConversion.floats(from: FloatConversion.bytes(from: exact, dtype: target), dtype: target),
          "\(source) -> \(target)")
      }
    }
    #expect(throws: TensorFileError.self) { try FloatConversion.convert([1, 2], from: .u8, to: .f32) }
    #expect(throws: TensorFileError.self) { try FloatConversion.floats(from: [1, 2, 3], dtype: .f16) }
  }

  @Test func dtypeFacts() {
    #expect(DType.allCases.count == 22)
    #expect(DType(name: "F32") == .f32 && DType(name: "f32") == nil && DType(name: "F128") == nil)
    #expect(DType.f4.bitsPerElement == 4 && DType.f6E3M2.bitsPerElement == 6 && DType.c64.bitsPerElement == 64)
    #expect(DType.f4.byteCount(elements: 3) == nil && DType.f4.byteCount(elements: 4) == 2)
    #expect(DType.f6E2M3.byteCount(elements: 4) == 3)
    #expect(DType.u64 > DType.f64 && DType.bool < DType.f4)
    #expect(DType.u64.byteCount(elements: Int.max / 4) == nil)
    #expect(elementCount(of: []) == 1 && elementCount(of: [3, 0, 5]) == 0 && elementCount(of: [Int.max, 2]) == nil)
  }

  @Test func xxh64KnownValues() {
    // Values from the reference implementation (python-xxhash 3.x).
    #expect(XXH64.hash([]) == 0xEF46_DB37_51D8_E999)
    #expect(XXH64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
    #expect(XXH64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
    #expect(XXH64.hash(Array("kswap tensor file".utf8)) == 0xB809_2148_F06F_0A3F)
    #expect(XXH64.hash((0..<768).map { UInt8($0 % 256) }) == 0x8E03_C838_C596_036F)
  }

  @Test func planeSplitIsInvertible() {
    var generator = SeededGenerator(seed: 11)
    for layout in [
      PlaneLayout(transform: .rotatedPlanes, lane: 2, rotation: 1),
      PlaneLayout(transform: .rotatedPlanes, lane: 2, rotation: 15),
      PlaneLayout(transform: .rotatedPlanes, lane: 4, rotation: 3),
      PlaneLayout(transform: .rotatedPlanes, lane: 8, rotation: 1),
      PlaneLayout(transform: .planes, lane: 2), PlaneLayout(transform: .planes, lane: 4),
      PlaneLayout(transform: .planes, lane: 8),
      PlaneLayout(transform: .none, lane: 1),
    ] {
      // 37 lanes of 8 bytes: whole 16-lane SIMD blocks and a scalar tail.
      let raw = randomBytes(8 * 37, using: &generator)
      let flat = raw.withUnsafeBytes { PlaneSplitter.split($0, layout: layout) }
      let n = raw.count / layout.lane
      let planes = (0..<layout.lane).map { Array(flat[$0 * n..<($0 + 1) * n]) }
      #expect(PlaneSplitter.join(planes, count: n, layout: layout) == raw)
    }
    // The sign move puts a float's exponent in the top plane: 1.0f (3f800000) -> 7f000000.
    let one: [UInt8] = [0, 0, 0x80, 0x3F]
    let planes = one.withUnsafeBytes { PlaneSplitter.split($0, layout: PlaneLayout.forDType(.f32, level: 3)) }
    #expect(planes == [0, 0, 0, 0x7F])
    // Rotated by three (strong levels): 3f800000 -> fc000001.
    let strong = one.withUnsafeBytes { PlaneSplitter.split($0, layout: PlaneLayout.forDType(.f32, level: 9)) }
    #expect(strong == [0x01, 0, 0, 0xFC])
  }
}
