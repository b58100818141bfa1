/// A small, seeded random number generator (SplitMix64) for reproducible initialisation and shuffles.
///
/// Same seed, same sequence on every platform; that is what makes `--seed` outputs byte-identical.
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
        return Float((-2 * Foundation_log(u1)).squareRoot() * Foundation_cos(2 * Double.pi * u2))
    }
}

extension Tensor {
    /// A tensor with elements uniform in [low, high), drawn from `generator`.
    public static func uniform(
        shape: [Int], low: Float, high: Float, generator: inout SeededGenerator
    ) -> Tensor {
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t.pointer[i] = generator.uniform(low, high) }
        return t
    }

    /// A tensor with normal elements of standard deviation `std`, drawn from `generator`.
    public static func normal(shape: [Int], std: Float, generator: inout SeededGenerator) -> Tensor {
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t.pointer[i] = std * generator.normal() }
        return t
    }
}
