/// Branch-free float approximations of exp and erf that the compiler vectorises.
///
/// libm's `expf`/`erff` are calls per element and dominate softmax and GELU; these are pure
/// arithmetic, so loops over them auto-vectorise. Accuracy: `exp` within 2 ulp over the float
/// range (inputs below -87.3 give 0); `erf` within 5e-7 absolute (Abramowitz and Stegun
/// 7.1.26 with the fast exp).
public enum FastMath {
  /// e^x for x in [-87.3, 88.7]; 0 below, +inf-free clamp above.
  @inlinable @inline(__always)
  public static func exp(_ x: Float) -> Float {
    let xc = min(max(x, -87.33654), 88.72283)
    // n = round(x / ln 2) with the 1.5·2^23 trick (vectorisable, no rounding-mode call).
    let shifter: Float = 12_582_912
    let t = xc * 1.442695041 + shifter
    let n = t - shifter
    // r = x - n ln2 in two steps (Cody-Waite) keeps r exact enough for 1-2 ulp.
    var r = xc - n * 0.693145752
    r = r - n * 1.428606765e-6
    // e^r on [-ln2/2, ln2/2], degree-6 minimax-like Taylor.
    var p: Float = 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    // 2^n by building the exponent bits; n in [-126, 128], split so each factor is normal.
    // t's low mantissa bits hold n as an integer (no float-to-int conversion, which traps).
    let ni = Int32(bitPattern: t.bitPattern) &- 0x4B40_0000
    let half = ni >> 1
    let s1 = Float(bitPattern: UInt32(bitPattern: (half &+ 127) &<< 23))
    let s2 = Float(bitPattern: UInt32(bitPattern: (ni &- half &+ 127) &<< 23))
    let y = p * s1 * s2
    return x < -87.33654 ? 0 : y
  }

  /// erf(x), absolute error below 5e-7 (1.5e-7 from the formula, the rest float rounding).
  @inlinable @inline(__always)
  public static func erf(_ x: Float) -> Float {
    let a = abs(x)
    let t = 1 / (1 + 0.3275911 * a)
    var p: Float = 1.061405429
    p = p * t - 1.453152027
    p = p * t + 1.421413741
    p = p * t - 0.284496736
    p = p * t + 0.254829592
    let y = 1 - p * t * exp(-a * a)
    // Copy x's sign onto y without a branch.
    return Float(bitPattern: (y.bitPattern & 0x7FFF_FFFF) | (x.bitPattern & 0x8000_0000))
  }
}

/// Eight-lane versions of the FastMath functions, for loops the compiler does not vectorise
/// itself (their bodies are too long for its cost model). Same formulas, same accuracy.
public typealias Lanes8 = SIMD8<Float>

extension FastMath {
  /// e^x lane by lane; lanes below -87.3 give 0.
  @inlinable @inline(__always)
  public static func exp(_ x: Lanes8) -> Lanes8 {
    // Clamp with selects: the generic pointwiseMin/Max are not inlined.
    let low = Lanes8(repeating: -87.33654), high = Lanes8(repeating: 88.72283)
    var xc = x.replacing(with: low, where: x .< low)
    xc = xc.replacing(with: high, where: xc .> high)
    let shifter = Lanes8(repeating: 12_582_912)
    let t = xc * 1.442695041 + shifter
    let n = t - shifter
    var r = xc - n * Lanes8(repeating: 0.693145752)
    r = r - n * Lanes8(repeating: 1.428606765e-6)
    var p = Lanes8(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let half = ni &>> 1
    let s1 = unsafeBitCast((half &+ 127) &<< 23, to: Lanes8.self)
    let s2 = unsafeBitCast((ni &- half &+ 127) &<< 23, to: Lanes8.self)
    return (p * s1 * s2).replacing(with: 0, where: x .< -87.33654)
  }

  /// erf(x) and e^{-x²} lane by lane (GELU's backward needs both; they share the exp).
  @inlinable @inline(__always)
  public static func erfAndGaussian(_ x: Lanes8) -> (erf: Lanes8, gaussian: Lanes8) {
    let a = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Lanes8.self)
    let t = 1 / (1 + 0.3275911 * a)
    var p = Lanes8(repeating: 1.061405429)
    p = p * t + Lanes8(repeating: -1.453152027)
    p = p * t + Lanes8(repeating: 1.421413741)
    p = p * t + Lanes8(repeating: -0.284496736)
    p = p * t + Lanes8(repeating: 0.254829592)
    let g = exp(Lanes8(repeating: 0) - a * a)
    let y = 1 - p * t * g
    let sign = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x8000_0000
    let erf = unsafeBitCast(unsafeBitCast(y, to: SIMD8<UInt32>.self) | sign, to: Lanes8.self)
    return (erf, g)
  }

  /// Loads eight floats from p (no alignment needed).
  @inlinable @inline(__always)
  public static func load(_ p: UnsafePointer<Float>) -> Lanes8 {
    UnsafeRawPointer(p).loadUnaligned(as: Lanes8.self)
  }

  /// Stores eight floats at p (no alignment needed).
  @inlinable @inline(__always)
  public static func store(_ v: Lanes8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes8.self)
  }
}
