import CKernels
import Foundation
import SeededRandom
import Testing

@testable import Tensors

@Suite struct KernelTests {
  @Test func vectorKernelsExpAndErfMatchLibm() {
    let x = (0..<12_800).map { Float(-87 + 0.0137 * Double($0)) },
      e = [Float](unsafeUninitializedCapacity: x.count) {
        kswap_exp(x, $0.baseAddress, x.count)
        $1 = x.count
      }
    let worstExp = zip(x, e).map { Float(abs(Double($1) - Foundation.exp(Double($0))) / Foundation.exp(Double($0))) }
      .max()!
    let z = (0..<12_001).map { Float(-6 + 0.001 * Double($0)) },
      erf = [Float](unsafeUninitializedCapacity: z.count) {
        kswap_erf(z, $0.baseAddress, z.count)
        $1 = z.count
      }
    let worstErf = zip(z, erf).map { abs(Double($1) - Foundation.erf(Double($0))) }.max()!
    print(
      "C kernels (AVX-512: \(kswap_kernels_use_avx512())): exp relative error \(worstExp), erf absolute \(worstErf)")
    #expect(worstExp < 5e-7)
    #expect(worstErf < 1e-6)
    var below: [Float] = [-200, -88, .infinity * -1], out = [Float](repeating: 1, count: 3)
    kswap_exp(&below, &out, 3)
    #expect(out == [0, 0, 0])
  }

  @Test func layerNormForwardAndBackward() {
    var rng = SeededGenerator(seed: 1)
    let (rows, dim) = (3, 7)
    let x = Tensor.uniform(shape: [rows, dim], low: -2, high: 2, generator: &rng)
    let gamma = Tensor.uniform(shape: [dim], low: 0.5, high: 1.5, generator: &rng)
    let beta = Tensor.uniform(shape: [dim], low: -1, high: 1, generator: &rng)
    let w = Tensor.uniform(shape: [rows, dim], low: -1, high: 1, generator: &rng)
    let y = Tensor(shape: [rows, dim]), mean = Tensor(shape: [rows]), rstd = Tensor(shape: [rows])
    func run() -> Double {
      LayerNormKernel.forward(
        x: x.pointer, gamma: gamma.pointer, beta: beta.pointer, y: y.pointer, mean: mean.pointer,
        rstd: rstd.pointer, rows: rows, dim: dim, eps: 1e-6)
      return GradientCheck.dot(y, w)
    }
    _ = run()
    // Each normalised row has mean beta-weighted zero: check against the definition.
    for r in 0..<rows {
      var m = 0.0, v = 0.0
      for i in 0..<dim { m += Double(x[r, i]) }
      m /= Double(dim)
      for i in 0..<dim { v += (Double(x[r, i]) - m) * (Double(x[r, i]) - m) }
      v /= Double(dim)
      for i in 0..<dim {
        let ref = (Double(x[r, i]) - m) / (v + 1e-6).squareRoot() * Double(gamma[i]) + Double(beta[i])
        #expect(abs(Double(y[r, i]) - ref) < 1e-5)
      }
    }
    let dx = Tensor(shape: [rows, dim]), dg = Tensor(shape: [dim]), db = Tensor(shape: [dim])
    LayerNormKernel.backward(
      dy: w.pointer, x: x.pointer, gamma: gamma.pointer, mean: mean.pointer, rstd: rstd.pointer,
      dx: dx.pointer, dgamma: dg.pointer, dbeta: db.pointer, rows: rows, dim: dim)
    let err = GradientCheck.largestError(of: [x, gamma, beta], analytic: [dx, dg, db], epsilon: 1e-2, loss: run)
    print("LayerNorm backward: largest relative error \(err)")
    #expect(err < 5e-3)
  }

  @Test func geluForwardAndBackward() {
    var rng = SeededGenerator(seed: 2)
    let n = 40
    let x = Tensor.uniform(shape: [4, 10], low: -4, high: 4, generator: &rng)
    let bias = Tensor.uniform(shape: [10], low: -0.5, high: 0.5, generator: &rng)
    let w = Tensor.uniform(shape: [4, 10], low: -1, high: 1, generator: &rng)
    let z = Tensor(shape: [4, 10]), y = Tensor(shape: [4, 10])
    func run() -> Double {
      GELUKernel.biasForward(x: x.pointer, bias: bias.pointer, preActivation: z.pointer, y: y.pointer, rows: 4, dim: 10)
      return GradientCheck.dot(y, w)
    }
    _ = run()
    for i in 0..<n {
      let v = Double(z.pointer[i])
      #expect(abs(Double(y.pointer[i]) - 0.5 * v * (1 + Foundation.erf(v / 2.0.squareRoot()))) < 1e-6)
    }
    let dz = Tensor(shape: [4, 10])
    GELUKernel.backward(dy: w.pointer, z: z.pointer, dz: dz.pointer, count: n)
    let db = Tensor(shape: [10])
    BiasKernel.sumRows(dz.pointer, into: db.pointer, rows: 4, dim: 10)
    let err = GradientCheck.largestError(of: [x, bias], analytic: [dz, db], epsilon: 1e-2, loss: run)
    print("GELU backward: largest relative error \(err)")
    #expect(err < 5e-3)
  }

  @Test func softmaxBackward() {
    var rng = SeededGenerator(seed: 4)
    let x = Tensor.uniform(shape: [3, 9], low: -3, high: 3, generator: &rng)
    let w = Tensor.uniform(shape: [3, 9], low: -1, high: 1, generator: &rng)
    let y = Tensor(shape: [3, 9])
    func run() -> Double {
      SoftmaxKernel.forward(x: x.pointer, y: y.pointer, rows: 3, dim: 9)
      return GradientCheck.dot(y, w)
    }
    _ = run()
    for r in 0..<3 { #expect(abs((0..<9).reduce(Float(0)) { $0 + y[r, $1] } - 1) < 1e-6) }
    let dx = Tensor(shape: [3, 9])
    SoftmaxKernel.backward(y: y.pointer, dy: w.pointer, dx: dx.pointer, rows: 3, dim: 9)
    let err = GradientCheck.largestError(of: [x], analytic: [dx], epsilon: 1e-2, loss: run)
    print("softmax backward: largest relative error \(err)")
    #expect(err < 5e-3)
  }

  @Test func parallelRowsCoverEveryRowOnce() {
    let hits = Tensor(shape: [1000])
    Parallel.forRows(1000, cost: 1000) { range in
      for r in range { hits.pointer[r] += 1 }
    }
    #expect(hits.scalars.allSatisfy { $0 == 1 })
  }
}
