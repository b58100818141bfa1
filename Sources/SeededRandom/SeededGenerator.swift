// kswap's one random number generator: SplitMix64 (Steele, Lea and Flood, 2014), with the sampling
// written out, so `--seed` reproduces a run to the byte on every platform and Swift version (the
// standard library's generators and shuffle make no such promise). No dependencies: the file tools
// (dataset splits) and the engine (initialisation, batch order) share it.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A small, seeded generator. Same seed, same sequence everywhere.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
  /// The whole state: `SeededGenerator(seed: state)` continues the sequence exactly, which is how
  /// training state files save and restore a generator.
  public var state: UInt64

  /// A generator whose sequence is fixed by `seed`.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform Float in [low, high), from 24 random bits.
  public mutating func uniform(_ low: Float, _ high: Float) -> Float {
    let u = Float(next() >> 40) * (1.0 / 16_777_216.0)
    return low + (high - low) * u
  }

  /// A standard normal Float (Box-Muller in Double).
  public mutating func normal() -> Float {
    let u1 = (Double(next() >> 11) + 1) * (1.0 / 9_007_199_254_740_993.0)
    let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
  }

  /// A uniform integer in 0..<bound without modulo bias (rejection on the low range).
  public mutating func below(_ bound: Int) -> Int {
    precondition(bound > 0)
    let b = UInt64(bound)
    let limit = UInt64.max - UInt64.max % b
    while true {
      let x = next()
      if x < limit { return Int(x % b) }
    }
  }

  /// Fisher-Yates from the last element down, written out so the order does not depend on the
  /// standard library's (unspecified) shuffle algorithm.
  public mutating func shuffle<T>(_ values: inout [T]) {
    guard values.count > 1 else { return }
    for i in stride(from: values.count - 1, to: 0, by: -1) {
      values.swapAt(i, below(i + 1))
    }
  }

  /// A fresh generator for a named purpose, so adding one use of randomness does not shift the others.
  public func derived(_ purpose: String) -> SeededGenerator {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a over the purpose
    for byte in purpose.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
    var g = SeededGenerator(seed: state ^ h)
    _ = g.next()
    return g
  }
}
