import SeededRandom
import Tensors
import Testing

@testable import ViT

/// Each layer's backward on its own against central differences (tiny shapes, Float, ε = 1e-2).
@Suite struct LayerGradientTests {
  @Test func linearWithLoRA() {
    var rng = SeededGenerator(seed: 21)
    let (rows, i, o) = (5, 6, 7)
    let layer = Linear(
      name: "fc", weight: Tensor.uniform(shape: [o, i], low: -1, high: 1, generator: &rng),
      bias: Tensor.uniform(shape: [o], low: -1, high: 1, generator: &rng))
    layer.lora = LoRAAdapter(
      module: "fc", a: Tensor.uniform(shape: [3, i], low: -1, high: 1, generator: &rng),
      b: Tensor.uniform(shape: [o, 3], low: -1, high: 1, generator: &rng), scaling: 0.7)
    for p in layer.parameters { p.isTrainable = true }
    let x = Tensor.uniform(shape: [rows, i], low: -1, high: 1, generator: &rng)
    let w = Tensor.uniform(shape: [rows, o], low: -1, high: 1, generator: &rng)
    let y = Tensor(shape: [rows, o])
    func loss() -> Double {
      layer.forward(x: x.pointer, y: y.pointer, rows: rows)
      return GradientCheck.dot(y, w)
    }
    _ = loss()
    // dx accumulates onto what is there (a residual branch): start from ones, subtract after.
    let dx = Tensor(shape: [rows, i], repeating: 1)
    layer.backward(dy: w.pointer, x: x.pointer, dx: dx.pointer, rows: rows, accumulate: true)
    for k in 0..<dx.count { dx.pointer[k] -= 1 }
    let params = layer.parameters
    let err = GradientCheck.largestError(
      of: [x] + params.map(\.value), analytic: [dx] + params.map { $0.gradient! }, epsilon: 1e-2, loss: loss)
    print("Linear + LoRA backward (dx, W, b, A, B): largest relative error \(err)")
    #expect(err < 1e-3)
  }

  @Test func attentionCore() {
    var rng = SeededGenerator(seed: 22)
    let (batch, n, d, heads) = (2, 5, 8, 2)
    let attention = Attention(
      qkv: Linear(name: "qkv", weight: Tensor(shape: [3 * d, d]), bias: nil),
      proj: Linear(name: "proj", weight: Tensor(shape: [d, d]), bias: nil), heads: heads)
    let qkv = Tensor.uniform(shape: [batch * n, 3 * d], low: -1.5, high: 1.5, generator: &rng)
    let w = Tensor.uniform(shape: [batch * n, d], low: -1, high: 1, generator: &rng)
    let probs = Tensor(shape: [batch, heads, n, n]), out = Tensor(shape: [batch * n, d])
    func loss() -> Double {
      attention.core(qkvOut: qkv.pointer, probs: probs.pointer, out: out.pointer, batch: batch, tokens: n)
      return GradientCheck.dot(out, w)
    }
    _ = loss()
    let dqkv = Tensor(shape: [batch * n, 3 * d])
    attention.coreBackward(
      dOut: w.pointer, qkvOut: qkv.pointer, probs: probs.pointer, dQKV: dqkv.pointer, scratch: Buffer(),
      batch: batch, tokens: n)
    let err = GradientCheck.largestError(of: [qkv], analytic: [dqkv], epsilon: 1e-2, loss: loss)
    print("attention core backward (q, k, v): largest relative error \(err)")
    #expect(err < 1e-3)
  }
}
