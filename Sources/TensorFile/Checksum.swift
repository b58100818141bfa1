// XXH64 (seed 0), the checksum the compressed container stores for every tensor's raw bytes, its
// header and its index. libzstd uses the same hash for its frame checksums but does not export it.

struct XXH64 {
  private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
  private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
  private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
  private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
  private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

  @inline(__always) private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
    var acc = acc &+ input &* p2
    acc = (acc << 31) | (acc >> 33)
    return acc &* p1
  }

  @inline(__always) private static func merge(_ acc: UInt64, _ value: UInt64) -> UInt64 {
    ((acc ^ round(0, value)) &* p1) &+ p4
  }

  static func hash(_ bytes: [UInt8]) -> UInt64 {
    bytes.withUnsafeBytes { hash($0) }
  }

  @_optimize(speed)  // fast in debug builds too
  static func hash(_ buffer: UnsafeRawBufferPointer) -> UInt64 {
    let count = buffer.count
    var offset = 0
    var h: UInt64
    @inline(__always) func load64(_ at: Int) -> UInt64 {
      UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }
    if count >= 32 {
      var v1 = p1 &+ p2
      var v2 = p2
      var v3: UInt64 = 0
      var v4 = 0 &- p1
      while offset + 32 <= count {
        v1 = round(v1, load64(offset))
        v2 = round(v2, load64(offset + 8))
        v3 = round(v3, load64(offset + 16))
        v4 = round(v4, load64(offset + 24))
        offset += 32
      }
      h = ((v1 << 1) | (v1 >> 63)) &+ ((v2 << 7) | (v2 >> 57)) &+ ((v3 << 12) | (v3 >> 52)) &+ ((v4 << 18) | (v4 >> 46))
      h = merge(h, v1)
      h = merge(h, v2)
      h = merge(h, v3)
      h = merge(h, v4)
    } else {
      h = p5
    }
    h = h &+ UInt64(count)
    while offset + 8 <= count {
      h ^= round(0, load64(offset))
      h = ((h << 27) | (h >> 37)) &* p1 &+ p4
      offset += 8
    }
    if offset + 4 <= count {
      let word = UInt64(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
      h ^= word &* p1
      h = ((h << 23) | (h >> 41)) &* p2 &+ p3
      offset += 4
    }
    while offset < count {
      h ^= UInt64(buffer[offset]) &* p5
      h = ((h << 11) | (h >> 53)) &* p1
      offset += 1
    }
    h ^= h >> 33
    h = h &* p2
    h ^= h >> 29
    h = h &* p3
    h ^= h >> 32
    return h
  }
}
