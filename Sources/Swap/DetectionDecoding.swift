// From a detection model's dense outputs to each image's detections, as torchvision's FCOS post-processes
// its one feature level: scores, a threshold, the top candidates, boxes clipped to the image, non-maximum
// suppression per class and at most a COCO evaluation's 100 detections (Formats/model.md).

import Foundation
import Tensors
import ViT

/// How outputs become detections; the defaults are torchvision's FCOS's except the score threshold, which
/// is the 0.05 that detectors are evaluated with (torchvision's 0.2 is for showing boxes).
public struct DetectionDecoding: Sendable, Equatable {
  /// A (patch, class) pair is a candidate when its score is above this.
  public var scoreThreshold: Float = 0.05
  /// At most this many candidates per image, the best, go into the suppression.
  public var candidates = 1000
  /// A box is suppressed by a better-scored one of its class whose IoU with it is above this.
  public var iouThreshold: Float = 0.6
  /// At most this many detections per image, the best (COCO's maxDets).
  public var maxDetections = 100

  public init(scoreThreshold: Float = 0.05, candidates: Int = 1000, iouThreshold: Float = 0.6, maxDetections: Int = 100)
  {
    self.scoreThreshold = scoreThreshold
    self.candidates = candidates
    self.iouThreshold = iouThreshold
    self.maxDetections = maxDetections
  }
}

/// Each image's detections in `outputs` (B, Hp, Wp, K + 5) of a model of patch size `stride`, best first.
///
/// A (patch, class) pair scores √(σ(class logit) · σ(centerness logit)); the pairs above the threshold, at
/// most `candidates` of them (the best), give boxes around their patch centres: (cx - l·s, cy - t·s,
/// cx + r·s, cy + b·s) in pixels, clipped to the image (Wp·s × Hp·s); `nonMaximumSuppression` per class
/// keeps the best of overlapping boxes, and the best `maxDetections` remain. Labels are model rows. Equal
/// scores keep the patch order (row by row, then class).
public func decodeDetections(
  _ outputs: Tensor, stride: Int, settings: DetectionDecoding = DetectionDecoding()
) -> [[LabeledBox]] {
  let classes = DetectionOutputs.classes(outputs)
  let (gridHeight, gridWidth, width) = (outputs.shape[1], outputs.shape[2], outputs.shape[3])
  let (s, imageWidth, imageHeight) = (Float(stride), Float(gridWidth * stride), Float(gridHeight * stride))
  let (box, ctr) = (DetectionOutputs.box(classes: classes), DetectionOutputs.centerness(classes: classes))
  return (0..<outputs.shape[0]).map { image in
    var candidates: [(cell: Int, label: Int, score: Float)] = []
    for cell in 0..<(gridHeight * gridWidth) {
      let x = outputs.pointer + (image * gridHeight * gridWidth + cell) * width
      let centerness = logistic(Double(x[ctr]))
      for c in 0..<classes {
        let score = Float((logistic(Double(x[c])) * centerness).squareRoot())
        if score > settings.scoreThreshold { candidates.append((cell, c, score)) }
      }
    }
    let best = candidates.enumerated().sorted { a, b in
      a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
    }.prefix(settings.candidates)
    let boxes = best.map { _, candidate in
      let x = outputs.pointer + (image * gridHeight * gridWidth + candidate.cell) * width
      let (cx, cy) = ((Float(candidate.cell % gridWidth) + 0.5) * s, (Float(candidate.cell / gridWidth) + 0.5) * s)
      let clipped = Box(
        x0: min(max(cx - x[box] * s, 0), imageWidth), y0: min(max(cy - x[box + 1] * s, 0), imageHeight),
        x1: min(max(cx + x[box + 2] * s, 0), imageWidth), y1: min(max(cy + x[box + 3] * s, 0), imageHeight))
      return LabeledBox(box: clipped, label: candidate.label, score: candidate.score)
    }
    return Array(nonMaximumSuppression(boxes, iouThreshold: settings.iouThreshold).prefix(settings.maxDetections))
  }
}

/// Greedy non-maximum suppression within each class, as torchvision's `batched_nms`: going through `boxes`
/// best score first (equal scores in their given order), a box is kept unless a kept box of its class
/// overlaps it by an IoU above `iouThreshold`. Returns the kept boxes, best first.
public func nonMaximumSuppression(_ boxes: [LabeledBox], iouThreshold: Float) -> [LabeledBox] {
  let order = boxes.indices.sorted { boxes[$0].score != boxes[$1].score ? boxes[$0].score > boxes[$1].score : $0 < $1 }
  var kept: [LabeledBox] = []
  var keptByClass: [Int: [Box]] = [:]
  for index in order {
    let candidate = boxes[index]
    let rivals = keptByClass[candidate.label, default: []]
    if rivals.contains(where: { $0.iou(candidate.box) > iouThreshold }) { continue }
    kept.append(candidate)
    keptByClass[candidate.label, default: []].append(candidate.box)
  }
  return kept
}
