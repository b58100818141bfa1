import Foundation
import Tensors
import Testing
import ViT

@testable import Swap

@Suite struct DetectionDecodingTests {
  static func box(_ x0: Float, _ y0: Float, _ x1: Float, _ y1: Float, _ label: Int, _ score: Float) -> LabeledBox {
    LabeledBox(box: Box(x0: x0, y0: y0, x1: x1, y1: y1), label: label, score: score)
  }

  @Test func iouAsTorchvisionComputesIt() {
    let a = Box(x0: 0, y0: 0, x1: 10, y1: 10)
    #expect(a.iou(a) == 1)
    #expect(abs(a.iou(Box(x0: 1, y0: 1, x1: 11, y1: 11)) - 81.0 / 119) < 1e-7)
    #expect(a.iou(Box(x0: 10, y0: 0, x1: 20, y1: 10)) == 0)  // touching
    #expect(a.iou(Box(x0: 20, y0: 20, x1: 30, y1: 30)) == 0)
    let line = Box(x0: 2, y0: 2, x1: 2, y1: 8)
    #expect(line.iou(line) == 0)  // no area: no union
  }

  /// Greedy per class, best first: a box above the IoU threshold with a better one of its class goes;
  /// one exactly at it, or of another class, stays.
  @Test func suppressionIsGreedyPerClass() {
    let boxes = [
      Self.box(0, 0, 10, 10, 0, 0.9),  // kept
      Self.box(1, 1, 11, 11, 0, 0.8),  // IoU 0.68 with the first: suppressed
      Self.box(1, 1, 11, 11, 1, 0.7),  // another class: kept
      Self.box(20, 20, 30, 30, 0, 0.95),  // kept, first
      Self.box(0, 0, 10, 6, 0, 0.5),  // IoU exactly 0.6 with the first: kept
      Self.box(0, 4, 10, 10, 0, 0.4),  // IoU 0.6 with the first, 0.2 with the one above: kept
      Self.box(0, 0, 10, 7, 0, 0.3),  // IoU 0.7 with the first: suppressed
    ]
    let kept = nonMaximumSuppression(boxes, iouThreshold: 0.6)
    #expect(kept == [boxes[3], boxes[0], boxes[2], boxes[4], boxes[5]])
    // Ties keep the given order; a threshold of 1 keeps everything.
    let tied = [Self.box(0, 0, 4, 4, 0, 0.5), Self.box(0, 0, 4, 4, 0, 0.5)]
    #expect(nonMaximumSuppression(tied, iouThreshold: 0.6) == [tied[0]])
    #expect(nonMaximumSuppression(boxes, iouThreshold: 1).count == boxes.count)
  }

  /// One image, a 1x2 grid of stride 4 (8 wide, 4 high), two classes. Patch 0: logits (2, -2), distances
  /// ½ all round, centerness logit 0. Patch 1: logits (1, -8), distances (1, ¼, 1, ¾), centerness logit 3:
  /// the box (2, 1, 10, 5) clipped to (2, 1, 8, 4).
  @Test func decodesScoresBoxesAndLimits() {
    let outputs = Tensor(
      shape: [1, 1, 2, 7], values: [2, -2, 0.5, 0.5, 0.5, 0.5, 0, 1, -8, 1, 0.25, 1, 0.75, 3])
    func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }
    let scores = [
      (sigmoid(1) * sigmoid(3)).squareRoot(), (sigmoid(2) / 2).squareRoot(), (sigmoid(-2) / 2).squareRoot(),
    ]
    let expected = [
      LabeledBox(box: Box(x0: 2, y0: 1, x1: 8, y1: 4), label: 0, score: Float(scores[0])),
      LabeledBox(box: Box(x0: 0, y0: 0, x1: 4, y1: 4), label: 0, score: Float(scores[1])),
      LabeledBox(box: Box(x0: 0, y0: 0, x1: 4, y1: 4), label: 1, score: Float(scores[2])),
    ]  // patch 1's class 1 scores 0.018: under the threshold
    #expect(decodeDetections(outputs, stride: 4) == [expected])
    #expect(
      decodeDetections(outputs, stride: 4, settings: DetectionDecoding(maxDetections: 2)) == [Array(expected[..<2])])
    #expect(decodeDetections(outputs, stride: 4, settings: DetectionDecoding(candidates: 1)) == [[expected[0]]])
    #expect(decodeDetections(outputs, stride: 4, settings: DetectionDecoding(scoreThreshold: 0.7)) == [[expected[0]]])
    // The two class-0 boxes overlap by 6 / 28: suppressed under a threshold below that.
    #expect(
      decodeDetections(outputs, stride: 4, settings: DetectionDecoding(iouThreshold: 0.2)) == [
        [expected[0], expected[2]]
      ])
    // Images are decoded each on its own.
    let two = Tensor(shape: [2, 1, 2, 7], values: outputs.scalars + [Float](repeating: -20, count: 14))
    #expect(decodeDetections(two, stride: 4) == [expected, []])
  }
}
