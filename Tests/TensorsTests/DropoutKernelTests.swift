import SeededRandom
import Testing

@testable import Tensors

@Suite struct DropoutKernelTests {
  /// The kernel's masks, one draw at a time from the project's generator: element i takes the low
  /// (even i) or high (odd i) half of output i / 2 of SeededGenerator(seed: key).
  func referenceKept(count: Int, key: UInt64, probability: Float) -> [Bool] {
    var generator = SeededGenerator(seed: key)
    var draws: [UInt32] = []
    while draws.count < count {
      let bits = generator.next()
      draws += [UInt32(truncatingIfNeeded: bits), UInt32(bits >> 32)]
    }
    let threshold = DropoutKernel.threshold(probability)
    return draws.prefix(count).map { $0 >= threshold }
  }

  func dropped(_ x: [Float], key: UInt64, probability: Float) -> [Float] {
    var y = [Float](repeating: .nan, count: x.count)
    DropoutKernel.apply(x, &y, count: x.count, key: key, probability: probability)
    return y
  }

  // Odd and above the parallel threshold: full vectors, a tail, several chunks.
  let count = 100_003

  func inputs() -> [Float] {
    var rng = SeededGenerator(seed: 3)
    return (0..<count).map { _ in rng.uniform(-2, 2) }
  }

  @Test func masksAreTheGeneratorsDrawsAndKeptValuesAreScaled() {
    let x = inputs(), p: Float = 0.1
    let y = dropped(x, key: 42, probability: p)
    let kept = referenceKept(count: count, key: 42, probability: p)
    let scale = DropoutKernel.scale(p)
    #expect(scale == Float(1 / 0.9))
    var mismatches = 0
    for i in 0..<count where y[i] != (kept[i] ? x[i] * scale : 0) { mismatches += 1 }
    #expect(mismatches == 0)
    let fraction = Double(kept.filter { $0 }.count) / Double(count)
    print("dropout p = 0.1: kept fraction \(fraction) of \(count)")
    #expect(abs(fraction - 0.9) < 0.005)  // 5 standard deviations
  }

  @Test func sameKeySameMaskOtherKeyOtherMask() {
    let x = inputs()
    let a = dropped(x, key: 7, probability: 0.5), b = dropped(x, key: 7, probability: 0.5)
    let c = dropped(x, key: 8, probability: 0.5)
    #expect(a == b)
    let agreeing = zip(a, c).filter { ($0 == 0) == ($1 == 0) }.count
    // Independent masks at p = 0.5 agree on about half the elements.
    #expect(abs(Double(agreeing) / Double(count) - 0.5) < 0.01)
  }

  @Test func inPlaceEqualsOutOfPlaceAndZeroProbabilityIsTheIdentity() {
    let x = inputs()
    var inPlace = x
    inPlace.withUnsafeMutableBufferPointer {
      DropoutKernel.apply($0.baseAddress!, $0.baseAddress!, count: count, key: 5, probability: 0.3)
    }
    #expect(inPlace == dropped(x, key: 5, probability: 0.3))
    #expect(dropped(x, key: 5, probability: 0) == x)
  }

  @Test func largeProbabilitiesKeepTheRightShare() {
    let x = [Float](repeating: 1, count: count)
    for p: Float in [0.5, 0.9, 0.99] {
      let kept = dropped(x, key: 1, probability: p).filter { $0 != 0 }
      #expect(abs(Double(kept.count) / Double(count) - Double(1 - p)) < 0.005, "p = \(p)")
      #expect(kept.allSatisfy { $0 == DropoutKernel.scale(p) })
    }
  }
}
