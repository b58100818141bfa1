// Per-tensor value statistics for `kswap-inspect --stats`, in one pass over the raw bytes.

import TensorFile

/// Minimum, maximum, mean, standard deviation and L2 norm of a tensor's finite values, plus counts
/// of NaN, infinite and zero values (Formats/inspect-json.md says exactly what each means).
struct TensorStatistics: Equatable {
  var count = 0  // finite values
  var nan = 0
  var inf = 0
  var zeros = 0
  var min = Double.infinity
  var max = -Double.infinity
  /// Sums of (value - shift) and its square: shifting by the first value keeps the variance
  /// accurate when the mean is large next to the spread.
  private var shift: Double?
  private var shiftedSum = 0.0
  private var shiftedSquares = 0.0
  private var squares = 0.0
  /// False for dtypes kswap does not decode (F8, F6, F4, C64).
  var decoded = true

  var mean: Double? { count > 0 ? (shift ?? 0) + shiftedSum / Double(count) : nil }

  var standardDeviation: Double? {
    guard count > 0 else { return nil }
    let n = Double(count)
    let variance = (shiftedSquares - shiftedSum * shiftedSum / n) / n
    return variance > 0 ? variance.squareRoot() : 0
  }

  var l2: Double? { count > 0 ? squares.squareRoot() : nil }

  /// Statistics of the raw little-endian bytes of one tensor of `dtype`.
  init(bytes: [UInt8], dtype: DType) {
    bytes.withUnsafeBytes { raw in
      switch dtype {
      case .f32:
        add(raw, width: 4) {
          Double(Float(bitPattern: $0.loadUnaligned(fromByteOffset: $1, as: UInt32.self).littleEndian))
        }
      case .f64:
        add(raw, width: 8) { Double(bitPattern: $0.loadUnaligned(fromByteOffset: $1, as: UInt64.self).littleEndian) }
      case .f16:
        add(raw, width: 2) {
          Double(Float16(bitPattern: $0.loadUnaligned(fromByteOffset: $1, as: UInt16.self).littleEndian))
        }
      case .bf16:
        add(raw, width: 2) {
          Double(Float(bitPattern: UInt32($0.loadUnaligned(fromByteOffset: $1, as: UInt16.self).littleEndian) << 16))
        }
      case .bool, .u8: add(raw, width: 1) { Double($0[$1]) }
      case .i8: add(raw, width: 1) { Double(Int8(bitPattern: $0[$1])) }
      case .i16:
        add(raw, width: 2) { Double(Int16(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: Int16.self))) }
      case .u16:
        add(raw, width: 2) { Double(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: UInt16.self))) }
      case .i32:
        add(raw, width: 4) { Double(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: Int32.self))) }
      case .u32:
        add(raw, width: 4) { Double(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: UInt32.self))) }
      case .i64:
        add(raw, width: 8) { Double(Int64(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: Int64.self))) }
      case .u64:
        add(raw, width: 8) { Double(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: $1, as: UInt64.self))) }
      default: decoded = false
      }
    }
  }

  private mutating func add(
    _ raw: UnsafeRawBufferPointer, width: Int, _ load: (UnsafeRawBufferPointer, Int) -> Double
  ) {
    var offset = 0
    while offset + width <= raw.count {
      let value = load(raw, offset)
      offset += width
      if value.isNaN {
        nan += 1
      } else if value.isInfinite {
        inf += 1
      } else {
        if value == 0 { zeros += 1 }
        let base = shift ?? value
        shift = base
        count += 1
        if value < min { min = value }
        if value > max { max = value }
        let shifted = value - base
        shiftedSum += shifted
        shiftedSquares += shifted * shifted
        squares += value * value
      }
    }
  }

  static func == (a: TensorStatistics, b: TensorStatistics) -> Bool {
    a.count == b.count && a.nan == b.nan && a.inf == b.inf && a.zeros == b.zeros && a.min == b.min
      && a.max == b.max && a.mean == b.mean && a.standardDeviation == b.standardDeviation && a.l2 == b.l2
  }
}
