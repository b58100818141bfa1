import Foundation
import SeededRandom
import Tensors
import Testing
import ViT

@testable import Swap

@Suite struct DetectionLossTests {
  static func box(_ x0: Float, _ y0: Float, _ x1: Float, _ y1: Float, _ label: Int) -> LabeledBox {
    LabeledBox(box: Box(x0: x0, y0: y0, x1: x1, y1: y1), label: label)
  }

  /// A 4x4 grid of stride 4 (patch centres at 2, 6, 10, 14): the smaller box takes shared patches, the
  /// first of two equal ones keeps them, a centre on a box's edge is not inside, and a box with no patch
  /// centre inside it takes the patch whose cell holds its centre.
  @Test func patchesAnswerForTheSmallestBoxAroundTheirCentre() {
    let boxes = [
      Self.box(0, 0, 16, 16, 0),  // 0: every centre
      Self.box(4, 4, 12, 12, 1),  // 1: the middle four
      Self.box(4, 4, 12, 12, 2),  // 2: the same area as 1, later: takes nothing
      Self.box(12.5, 0.5, 13.5, 1.5, 1),  // 3: no centre inside; its centre (13, 1) is in cell (0, 3)
      Self.box(2, 2, 6, 6, 2),  // 4: centres on its edges only; its centre (4, 4) is in cell (1, 1)
    ]
    let assigned = assignPatches(boxes, gridHeight: 4, gridWidth: 4, stride: 4)
    #expect(assigned == [0, 0, 0, 3, 0, 4, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0])
    #expect(assignPatches([], gridHeight: 2, gridWidth: 3, stride: 4) == [Int?](repeating: nil, count: 6))
    // A centre outside the grid (a box past the image's edge) takes the nearest cell.
    #expect(assignPatches([Self.box(20, -9, 30, -3, 0)], gridHeight: 2, gridWidth: 2, stride: 4) == [nil, 0, nil, nil])
  }

  /// Outputs (1, 1, cells, 6) of one class: per patch its logit, distances l, t, r, b and centerness logit.
  static func outputs(_ rows: [[Float]]) -> Tensor {
    Tensor(shape: [1, 1, rows.count, 6], values: rows.flatMap { $0 })
  }

  @Test func matchesHandComputedCases() {
    let ln2 = Float(log(2.0))
    // A positive patch whose box is its ground truth: focal α(1-p)²·ln 2 at p = ½, GIoU loss 0, centerness
    // target 1 against logit 0: ln 2.
    let exact = Self.outputs([[0, 0.5, 0.5, 0.5, 0.5, 0]])
    let gradient = Tensor(shape: exact.shape, repeating: .nan)
    var loss = detectionLoss(
      outputs: exact, images: 0..<1, targets: [[Self.box(0, 0, 4, 4, 0)]], stride: 4, gradient: gradient)
    #expect(loss.positives == 1 && loss.box == 0)
    #expect(abs(loss.classification - 0.0625 * ln2) < 1e-6 && abs(loss.centerness - ln2) < 1e-6)
    #expect(abs(loss.total - 1.0625 * ln2) < 1e-6)
    // d focal/dx = -α(1-p)²(γ·p·ln 2 + 1 - p); d BCE/dx = σ(0) - 1; the box sits at GIoU's minimum.
    let expected: [Float] = [-0.0625 * (ln2 + 0.5), 0, 0, 0, 0, -0.5]
    #expect(zip(gradient.scalars, expected).allSatisfy { abs($0 - $1) < 1e-6 })

    // The prediction inside its ground truth: IoU = 1/4, the enclosing box is the truth: loss 3/4.
    loss = detectionLoss(
      outputs: Self.outputs([[0, 0.25, 0.25, 0.25, 0.25, 0]]), images: 0..<1,
      targets: [[Self.box(0, 0, 4, 4, 0)]], stride: 4)
    #expect(abs(loss.box - 0.75) < 1e-6)

    // A box smaller than a patch, in a 1x3 grid: its centre (5, 2) is in patch 1, whose centre (6, 2) lies
    // outside it (r = -1/8). Truth x -3/8...-1/8, y -1/4...1/4 (strides) inside the prediction ±½: IoU =
    // 1/8, GIoU loss 7/8; the centerness target is 0 (a clamped side). Patches 0 and 2 are background:
    // focal (1-α)p²·ln 2 each at logit 0, and no box or centerness gradient.
    let tiny = Self.outputs([[0, 1, 1, 1, 1, 0], [0, 0.5, 0.5, 0.5, 0.5, 0], [0, 1, 1, 1, 1, 0]])
    let tinyGradient = Tensor(shape: tiny.shape, repeating: .nan)
    loss = detectionLoss(
      outputs: tiny, images: 0..<1, targets: [[Self.box(4.5, 1, 5.5, 3, 0)]], stride: 4, gradient: tinyGradient)
    #expect(loss.positives == 1 && abs(loss.box - 0.875) < 1e-6 && abs(loss.centerness - ln2) < 1e-6)
    #expect(abs(loss.classification - (0.0625 + 2 * 0.1875) * ln2) < 1e-6)
    let background = Array(tinyGradient.scalars[1..<6]) + Array(tinyGradient.scalars[13..<18])
    #expect(background.allSatisfy { $0 == 0 })
    #expect(abs(tinyGradient.scalars[11] - 0.5) < 1e-6)  // σ(0) - 0

    // No box: every patch is background and the normaliser is 1.
    loss = detectionLoss(outputs: tiny, images: 0..<1, targets: [[]], stride: 4)
    #expect(loss.positives == 0 && loss.box == 0 && loss.centerness == 0)
    #expect(abs(loss.classification - 3 * 0.1875 * ln2) < 1e-6)
  }

  /// Images 1 and 2 of three, with a weight, against finite differences; image 0's rows are left as
  /// they were; the weight scales the gradient only.
  @Test func gradientMatchesFiniteDifferences() {
    var rng = SeededGenerator(seed: 12)
    let (classes, width) = (3, 3 + DetectionOutputs.boxChannels)
    let outputs = Tensor.uniform(shape: [3, 3, 4, width], low: -2, high: 2, generator: &rng)
    for i in 0..<(outputs.count / width) {  // positive distances, as the head gives them
      for j in classes..<(classes + 4) {
        outputs.pointer[i * width + j] = 0.2 + abs(outputs.pointer[i * width + j])
      }
    }
    let targets = [
      [Self.box(1, 2, 11, 9, 2), Self.box(8, 0, 16, 12, 0)],
      [Self.box(0, 0, 16, 12, 1), Self.box(5, 5, 7, 6, 2), Self.box(9, 1, 15, 11, 0)],
    ]
    let gradient = Tensor(shape: outputs.shape, repeating: .nan)
    let loss = detectionLoss(
      outputs: outputs, images: 1..<3, targets: targets, stride: 4, weight: 0.7, gradient: gradient)
    #expect(loss == detectionLoss(outputs: outputs, images: 1..<3, targets: targets, stride: 4))
    let perImage = 12 * width
    #expect(gradient.scalars[..<perImage].allSatisfy(\.isNaN) && gradient.scalars[perImage...].allSatisfy(\.isFinite))
    let counted = Tensor(shape: [2, 3, 4, width]), analytic = Tensor(shape: counted.shape)
    counted.pointer.update(from: outputs.pointer + perImage, count: 2 * perImage)
    analytic.pointer.update(from: gradient.pointer + perImage, count: 2 * perImage)
    let err = GradientCheck.largestError(of: [counted], analytic: [analytic], epsilon: 1e-3) {
      let whole = outputs.copy()
      (whole.pointer + perImage).update(from: counted.pointer, count: 2 * perImage)
      return 0.7 * Double(detectionLoss(outputs: whole, images: 1..<3, targets: targets, stride: 4).total)
    }
    print("detection loss vs finite differences: \(err), \(loss.positives) positives")
    #expect(loss.positives > 5 && err < 1e-2)
  }

  @Test func staysFiniteForHugeOutputs() {
    let outputs = Self.outputs([[1000, 1e4, 1e-6, 1e4, 1e-6, -1000], [-1000, 1, 1, 1, 1, 1000]])
    let gradient = Tensor(shape: outputs.shape)
    let loss = detectionLoss(
      outputs: outputs, images: 0..<1, targets: [[Self.box(0, 0, 4, 4, 0), Self.box(4, 0, 8, 4, 0)]], stride: 4,
      gradient: gradient)
    #expect(loss.total.isFinite && gradient.scalars.allSatisfy(\.isFinite))
    #expect(abs(loss.classification - 0.25 * 1000 / 2) < 1e-2)  // the second patch's α·1000, over 2 positives
  }
}
