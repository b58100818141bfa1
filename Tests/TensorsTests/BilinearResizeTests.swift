import SeededRandom
import Testing

@testable import Tensors

@Suite struct BilinearResizeTests {
  /// The resize of planes x (P, h, w) by the two taps per axis, pixel by pixel, as PyTorch's
  /// reference kernel writes it (no matrices).
  func directResize(_ x: Tensor, to height: Int, _ width: Int) -> Tensor {
    let (planes, h, w) = (x.shape[0], x.shape[1], x.shape[2])
    func taps(_ i: Int, input: Int, output: Int) -> (Int, Int, Float) {
      let source = max(Float(input) / Float(output) * (Float(i) + 0.5) - 0.5, 0)
      let lower = min(Int(source.rounded(.down)), input - 1)
      return (lower, min(lower + 1, input - 1), min(max(source - Float(lower), 0), 1))
    }
    let y = Tensor(shape: [planes, height, width])
    for p in 0..<planes {
      let input = x.pointer + p * h * w, output = y.pointer + p * height * width
      for i in 0..<height {
        let (y0, y1, ly) = taps(i, input: h, output: height)
        for j in 0..<width {
          let (x0, x1, lx) = taps(j, input: w, output: width)
          let top = (1 - lx) * input[y0 * w + x0] + lx * input[y0 * w + x1]
          let bottom = (1 - lx) * input[y1 * w + x0] + lx * input[y1 * w + x1]
          output[i * width + j] = (1 - ly) * top + ly * bottom
        }
      }
    }
    return y
  }

  func resized(_ x: Tensor, _ resize: BilinearResize) -> Tensor {
    let y = Tensor(shape: [x.shape[0], resize.outputHeight, resize.outputWidth])
    var scratch = [Float](repeating: .nan, count: resize.scratchCount(planes: x.shape[0]))
    resize.forward(x.pointer, planes: x.shape[0], into: y.pointer, scratch: &scratch)
    return y
  }

  @Test func weightsAreTorchsHalfPixelOnes() {
    // 2 -> 4: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (the upper tap clamped to the last pixel).
    #expect(BilinearResize.weights(input: 2, output: 4) == [1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1])
    // 4 -> 2: sources 0.5 and 2.5, no antialias (only the two nearest pixels count).
    #expect(BilinearResize.weights(input: 4, output: 2) == [0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5])
    #expect(BilinearResize.weights(input: 3, output: 3) == [1, 0, 0, 0, 1, 0, 0, 0, 1])
    for (input, output) in [(4, 28), (8, 56), (3, 7), (7, 3), (1, 5)] {
      let w = BilinearResize.weights(input: input, output: output)
      for i in 0..<output { #expect(abs(w[(i * input)..<((i + 1) * input)].reduce(0, +) - 1) < 1e-6) }
    }
  }

  @Test func forwardMatchesTheDirectFormula() {
    var rng = SeededGenerator(seed: 4)
    for (h, w, oh, ow) in [(3, 4, 12, 16), (4, 3, 16, 12), (5, 7, 3, 2), (2, 2, 2, 2), (1, 3, 4, 9)] {
      let x = Tensor.uniform(shape: [5, h, w], low: -2, high: 2, generator: &rng)
      let y = resized(x, BilinearResize(inputHeight: h, inputWidth: w, outputHeight: oh, outputWidth: ow))
      let err = GradientCheck.scaledError(y, directResize(x, to: oh, ow))
      #expect(err < 1e-6, "\(h)x\(w) -> \(oh)x\(ow): \(err)")
    }
  }

  @Test func backwardMatchesFiniteDifferences() {
    var rng = SeededGenerator(seed: 6)
    for (h, w, oh, ow) in [(3, 4, 12, 16), (5, 7, 3, 2)] {
      let resize = BilinearResize(inputHeight: h, inputWidth: w, outputHeight: oh, outputWidth: ow)
      let x = Tensor.uniform(shape: [3, h, w], low: -1, high: 1, generator: &rng)
      let dy = Tensor.uniform(shape: [3, oh, ow], low: -1, high: 1, generator: &rng)
      let dx = Tensor(shape: x.shape, repeating: .nan)  // every element must be written
      var scratch = [Float](repeating: .nan, count: resize.scratchCount(planes: 3))
      resize.backward(dy.pointer, planes: 3, into: dx.pointer, scratch: &scratch)
      let err = GradientCheck.largestError(of: [x], analytic: [dx], epsilon: 1e-2) {
        GradientCheck.dot(resized(x, resize), dy)
      }
      print("bilinear resize \(h)x\(w) -> \(oh)x\(ow) backward vs finite differences: \(err)")
      #expect(err < 1e-3)
    }
  }

  /// Large enough that the first product is split over threads (160 · 16 rows of 16 into 48 columns)
  /// and the planes run in parallel.
  @Test func bigStacksResizeEveryPlane() {
    var rng = SeededGenerator(seed: 8)
    let x = Tensor.uniform(shape: [160, 16, 16], low: -1, high: 1, generator: &rng)
    let y = resized(x, BilinearResize(inputHeight: 16, inputWidth: 16, outputHeight: 48, outputWidth: 48))
    #expect(GradientCheck.scaledError(y, directResize(x, to: 48, 48)) < 1e-6)
  }
}
