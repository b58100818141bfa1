// A small seeded generator whose whole state is one UInt64, so training state files can save and
// restore it exactly and `--seed` reproduces a run to the byte on every platform.

/// SplitMix64 (Steele, Lea, Flood 2014), with its state public so it can be saved and restored (the
/// engine's generator for initialisation keeps its state private).
public struct TrainingRandom: RandomNumberGenerator, Sendable, Equatable {
  public var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform integer in 0..<bound without modulo bias (rejection on the low range).
  public mutating func below(_ bound: Int) -> Int {
    precondition(bound > 0)
    let b = UInt64(bound)
    let limit = UInt64.max - UInt64.max % b
    while true {
      let x = next()
      if x < limit { return Int(x % b) }
    }
  }

  /// Uniform Float in [0, 1) from the top 24 bits.
  public mutating func unitFloat() -> Float {
    Float(next() >> 40) * (1.0 / 16_777_216.0)
  }

  /// Fisher-Yates shuffle written out so the order does not depend on the standard library's
  /// (unspecified) shuffle algorithm.
  public mutating func shuffle<T>(_ values: inout [T]) {
    guard values.count > 1 else { return }
    for i in stride(from: values.count - 1, to: 0, by: -1) {
      values.swapAt(i, below(i + 1))
    }
  }

  /// A fresh generator for a named purpose, so adding one use of randomness does not shift the others.
  public func derived(_ purpose: String) -> TrainingRandom {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a over the purpose
    for byte in purpose.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
    var g = TrainingRandom(seed: state ^ h)
    _ = g.next()
    return g
  }
}
