import Foundation
import SeededRandom
import Tensors
import Testing

@testable import Swap

@Suite struct PixelLossTests {
  @Test func matchesHandComputationAndIgnoresPixels() {
    // One image, 2 classes, 1x3 pixels (planes: class 0, class 1).
    // Pixel 0: logits (0, 0), label 0: loss ln 2. Pixel 1: (ln 3, 0), label 1: loss ln 4.
    // Pixel 2: ignored, whatever its logits. Mean over the 2 counted pixels: 1.5 ln 2.
    let logits = Tensor(shape: [1, 2, 1, 3], values: [0, Float(log(3.0)), 50, 0, 0, -50])
    let gradient = Tensor(shape: logits.shape, repeating: .nan)  // every element must be written
    let loss = pixelCrossEntropy(logits: logits, images: 0..<1, masks: [0, 1, 255], gradient: gradient)
    #expect(abs(loss - Float(1.5 * log(2.0))) < 1e-6)
    let expected: [Float] = [-0.25, 0.375, 0, 0.25, -0.375, 0]
    for (g, e) in zip(gradient.scalars, expected) { #expect(abs(g - e) < 1e-6) }
  }

  @Test func allPixelsIgnoredGiveZeroNotNaN() {
    let logits = Tensor(shape: [2, 3, 2, 2], repeating: 1)
    let gradient = Tensor(shape: logits.shape, repeating: .nan)
    let masks = [UInt8](repeating: 255, count: 8)
    #expect(pixelCrossEntropy(logits: logits, images: 0..<2, masks: masks, gradient: gradient) == 0)
    #expect(gradient.scalars.allSatisfy { $0 == 0 })
    #expect(pixelCrossEntropy(logits: logits, images: 0..<0, masks: []) == 0)
  }

  /// One-pixel images are rows: the loss and gradient are the classification cross-entropy's.
  @Test func onePixelImagesAreClassificationRows() {
    var rng = SeededGenerator(seed: 2)
    let rows = Tensor.uniform(shape: [4, 5], low: -3, high: 3, generator: &rng)
    let labels = [3, 0, 4, 1]
    let dRows = Tensor(shape: rows.shape)
    let expected = crossEntropy(logits: rows, rows: 0..<4, labels: labels, weight: 0.3, gradient: dRows)
    let pixels = rows.copy()
    pixels.reshape([4, 5, 1, 1])
    let dPixels = Tensor(shape: pixels.shape)
    let loss = pixelCrossEntropy(
      logits: pixels, images: 0..<4, masks: labels.map(UInt8.init), weight: 0.3, gradient: dPixels)
    #expect(abs(loss - expected) < 1e-6)
    #expect(zip(dPixels.scalars, dRows.scalars).allSatisfy { abs($0 - $1) < 1e-7 })
  }

  /// Images 1 and 2 of three, with a weight: image 0's planes are left as they were.
  @Test func gradientMatchesFiniteDifferencesWithIgnoredPixels() {
    var rng = SeededGenerator(seed: 7)
    let logits = Tensor.uniform(shape: [3, 4, 3, 5], low: -2, high: 2, generator: &rng)
    let masks = (0..<30).map { i -> UInt8 in i % 4 == 1 ? 255 : UInt8(rng.next() % 4) }
    let gradient = Tensor(shape: logits.shape, repeating: .nan)
    let loss = pixelCrossEntropy(logits: logits, images: 1..<3, masks: masks, weight: 0.7, gradient: gradient)
    #expect(loss == pixelCrossEntropy(logits: logits, images: 1..<3, masks: masks))  // the weight scales the gradient only
    #expect(gradient.scalars[..<60].allSatisfy(\.isNaN) && gradient.scalars[60...].allSatisfy(\.isFinite))
    let analytic = Tensor(shape: [2, 4, 3, 5])
    analytic.pointer.update(from: gradient.pointer + 60, count: 120)
    let counted = Tensor(shape: analytic.shape)
    counted.pointer.update(from: logits.pointer + 60, count: 120)
    let err = GradientCheck.largestError(of: [counted], analytic: [analytic], epsilon: 1e-2) {
      let whole = logits.copy()
      (whole.pointer + 60).update(from: counted.pointer, count: 120)
      return 0.7 * Double(pixelCrossEntropy(logits: whole, images: 1..<3, masks: masks))
    }
    print("pixel cross-entropy vs finite differences: \(err)")
    #expect(err < 1e-2)
    // Ignored pixels get no gradient.
    for (i, label) in masks.enumerated() where label == 255 {
      let (image, pixel) = (1 + i / 15, i % 15)
      for c in 0..<4 { #expect(gradient.pointer[(image * 4 + c) * 15 + pixel] == 0) }
    }
  }

  @Test func staysFiniteForHugeLogits() {
    let logits = Tensor(shape: [1, 3, 1, 1], values: [1000, -1000, 0])
    let gradient = Tensor(shape: logits.shape)
    let loss = pixelCrossEntropy(logits: logits, images: 0..<1, masks: [1], gradient: gradient)
    #expect(abs(loss - 2000) < 1e-2)
    #expect(abs(gradient.scalars[0] - 1) < 1e-6 && abs(gradient.scalars[1] + 1) < 1e-6)
  }
}
