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
        let ni = Int32(n)
        let half = ni >> 1
        let s1 = Float(bitPattern: UInt32(bitPattern: (half + 127) << 23))
        let s2 = Float(bitPattern: UInt32(bitPattern: (ni - half + 127) << 23))
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
        return x < 0 ? -y : y
    }
}
