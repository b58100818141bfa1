import Foundation
import SeededRandom
import Testing

@testable import Tensors

@Suite struct BLASTests {
  /// Naive Double product of op(A)·op(B) for the row-major matrices given with their strides.
  func naive(
    _ a: Tensor, _ b: Tensor, transA: Bool, transB: Bool, m: Int, n: Int, k: Int
  ) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        var s = 0.0
        for p in 0..<k {
          let av = transA ? a.pointer[p * a.shape[1] + i] : a.pointer[i * a.shape[1] + p]
          let bv = transB ? b.pointer[j * b.shape[1] + p] : b.pointer[p * b.shape[1] + j]
          s += Double(av) * Double(bv)
        }
        c[i * n + j] = s
      }
    }
    return c
  }

  @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
  func sgemmMatchesNaiveProduct(transA: Bool, transB: Bool) {
    var rng = SeededGenerator(seed: 7)
    let (m, n, k) = (67, 45, 129)
    let a = Tensor.uniform(shape: transA ? [k, m] : [m, k], low: -1, high: 1, generator: &rng)
    let b = Tensor.uniform(shape: transB ? [n, k] : [k, n], low: -1, high: 1, generator: &rng)
    let c = BLAS.matmul(a, b, transposeA: transA, transposeB: transB)
    let ref = naive(a, b, transA: transA, transB: transB, m: m, n: n, k: k)
    var worst = 0.0
    for i in 0..<(m * n) { worst = max(worst, abs(Double(c.pointer[i]) - ref[i])) }
    print("sgemm \(transA ? "T" : "N")\(transB ? "T" : "N") (\(BLASRuntime.coreName)): largest abs error \(worst)")
    #expect(worst < 1e-4)
  }

  /// Products big enough to be split over threads (by rows; a wide, short one is not split) give
  /// the same bits as one single-threaded call, for every transpose combination and row count
  /// around the split points. Run under each OPENBLAS_CORETYPE family to check them all.
  @Test(arguments: [(300, 200, 100), (40, 600, 100), (191, 300, 100), (385, 150, 64), (1000, 64, 40)])
  func splitProductsEqualSerialOnes(m: Int, n: Int, k: Int) {
    var rng = SeededGenerator(seed: 9)
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
      let a = Tensor.uniform(shape: ta ? [k, m] : [m, k], low: -1, high: 1, generator: &rng)
      let b = Tensor.uniform(shape: tb ? [n, k] : [k, n], low: -1, high: 1, generator: &rng)
      let c1 = Tensor(shape: [m, n], repeating: 0.5), c2 = Tensor(shape: [m, n], repeating: 0.5)
      BLAS.gemm(
        transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.7, a: a.pointer, lda: a.shape[1], b: b.pointer,
        ldb: b.shape[1], beta: 0.3, c: c1.pointer, ldc: n)
      BLAS.gemmSerial(
        transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.7, a: a.pointer, lda: a.shape[1], b: b.pointer,
        ldb: b.shape[1], beta: 0.3, c: c2.pointer, ldc: n)
      #expect(c1.scalars == c2.scalars, "split \(m)x\(n)x\(k) trans \(ta) \(tb)")
    }
  }

  @Test func gemmOnStridedViewsAndBeta() {
    // One "head" (columns 4..<8) of a (5, 12) buffer times the transpose of another head.
    var rng = SeededGenerator(seed: 3)
    let q = Tensor.uniform(shape: [5, 12], low: -1, high: 1, generator: &rng)
    let c = Tensor(shape: [5, 5], repeating: 1)
    BLAS.gemm(
      transB: true, m: 5, n: 5, k: 4, alpha: 0.5, a: q.pointer + 4, lda: 12, b: q.pointer + 8,
      ldb: 12, beta: 2, c: c.pointer, ldc: 5)
    for i in 0..<5 {
      for j in 0..<5 {
        var s: Float = 0
        for p in 0..<4 { s += q[i, 4 + p] * q[j, 8 + p] }
        #expect(abs(c[i, j] - (0.5 * s + 2)) < 1e-5)
      }
    }
  }

  @Test func fastKernelRestartOnlyWhenItHelps() {
    #expect(BLASRuntime.restartNeeded(userCoreType: nil, activeCore: "Prescott", cpuHasAVX512: true))
    #expect(!BLASRuntime.restartNeeded(userCoreType: "Prescott", activeCore: "Prescott", cpuHasAVX512: true))
    #expect(!BLASRuntime.restartNeeded(userCoreType: nil, activeCore: "Prescott", cpuHasAVX512: false))
    #expect(!BLASRuntime.restartNeeded(userCoreType: nil, activeCore: "SkylakeX", cpuHasAVX512: true))
    #expect(!BLASRuntime.restartNeeded(userCoreType: nil, activeCore: "Cooperlake", cpuHasAVX512: true))
    // This machine: the flags must agree with /proc/cpuinfo's.
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    #expect(
      BLASRuntime.cpuHasAVX512()
        == (info.contains(" avx512f ") && info.contains(" avx512bw ")
          && info.contains(" avx512dq ") && info.contains(" avx512vl ")))
  }
}
