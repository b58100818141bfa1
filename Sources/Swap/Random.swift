// Sampling on the engine's seeded generator (SplitMix64): integers without bias, a shuffle and
// derived streams, all written out so `--seed` reproduces a run to the byte on every platform.

import Tensors

extension SeededGenerator {
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

  /// Fisher-Yates shuffle written out so the order does not depend on the standard library's
  /// (unspecified) shuffle algorithm.
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
