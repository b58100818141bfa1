// COCO-style average precision of detections (pycocotools' COCOeval for boxes, iouType "bbox", area
// range "all", at most 100 detections per image and class), computed step by step as COCOeval does so
// that the numbers agree with it: the same IoU, the same greedy matching, the same stable score order,
// the same 101-point interpolated precision. Formats/eval-json.md, "Detection", states the rules.

/// The AP of one class of a set: COCOeval's `precision[:, :, k, 0, 2]` and what it averages.
public struct ClassPrecision: Sendable, Equatable {
  /// The class (a dataset label or a model row, as the boxes say).
  public var label: Int
  /// Its true boxes in the set.
  public var boxes: Int
  /// Its detections that were counted (at most `DetectionScores.maxDetections` per image).
  public var detections: Int
  /// precision[t][r]: the interpolated precision at IoU threshold t and recall threshold r, in [0, 1].
  public var precision: [[Double]]

  /// AP@[.5:.95] in percent: the mean of `precision` over every threshold and recall point.
  public var ap: Double { 100 * precision.map(Self.mean).reduce(0, +) / Double(precision.count) }
  /// AP at IoU 0.5, in percent.
  public var ap50: Double { 100 * Self.mean(precision[0]) }
  /// AP at IoU 0.75, in percent.
  public var ap75: Double { 100 * Self.mean(precision[5]) }

  static func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
}

/// A set's COCO-style scores: AP@[.5:.95], AP50 and AP75 over the set's own classes (those with a true
/// box; a class without one is left out, as COCOeval leaves it at -1 and out of its means), in percent.
public struct DetectionScores: Sendable, Equatable {
  /// The classes with at least one true box, by label.
  public var classes: [ClassPrecision]
  public var images: Int
  /// True boxes, all classes.
  public var boxes: Int
  /// Detections given, all classes (before the per-image cap).
  public var detections: Int

  /// COCOeval's IoU thresholds, numpy's `linspace(.5, .95, 10)`: i * ((0.95 - 0.5) / 9) + 0.5, the last
  /// 0.95 (so the eighth is 0.8999999999999999, as there).
  public static let iouThresholds = linspace(0.5, 0.95, count: 10)
  /// COCOeval's recall thresholds, `linspace(0, 1, 101)`: i * 0.01, the last 1.
  public static let recallThresholds = linspace(0, 1, count: 101)

  /// numpy's linspace: i * step + start with step = (stop - start) / (count - 1), the last exactly stop.
  private static func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
    let step: Double = (stop - start) / Double(count - 1)
    return (0..<count).map { (i: Int) -> Double in i == count - 1 ? stop : Double(i) * step + start }
  }
  /// Detections per image and class that count (COCOeval's maxDets[-1]), the highest scores first.
  public static let maxDetections = 100

  /// AP@[.5:.95] in percent; nil when the set has no true box (COCOeval: -1).
  public var ap: Double? { average(\.ap) }
  /// AP at IoU 0.5 in percent; nil when the set has no true box.
  public var ap50: Double? { average(\.ap50) }
  /// AP at IoU 0.75 in percent; nil when the set has no true box.
  public var ap75: Double? { average(\.ap75) }

  /// COCOeval's summary averages every precision value of every class alike; each class has as many, so
  /// that is the mean of the classes' means.
  private func average(_ value: KeyPath<ClassPrecision, Double>) -> Double? {
    classes.isEmpty ? nil : classes.map { $0[keyPath: value] }.reduce(0, +) / Double(classes.count)
  }
}

/// The COCO-style scores of `detections` against `truth`, both per image (the same count, in the set's
/// order; image i is COCO image id i + 1) with labels in one numbering and the detections' scores
/// finite. Within an image and class, detections rank by score, ties in the given order (a stable sort,
/// numpy's mergesort); across images, by score, ties in image order.
public func cocoScores(truth: [[LabeledBox]], detections: [[LabeledBox]]) -> DetectionScores {
  precondition(truth.count == detections.count, "\(detections.count) images of detections for \(truth.count)")
  let labels = Set(truth.joined().map(\.label)).sorted()
  var classes: [ClassPrecision] = []
  for label in labels {
    var ranked: [RankedDetection] = []
    var boxes = 0
    for (trueBoxes, found) in zip(truth, detections) {
      let truths = trueBoxes.filter { $0.label == label }.map(\.box)
      boxes += truths.count
      ranked += matched(truths, found.filter { $0.label == label })
    }
    classes.append(
      ClassPrecision(label: label, boxes: boxes, detections: ranked.count, precision: precision(ranked, truths: boxes)))
  }
  return DetectionScores(
    classes: classes, images: truth.count, boxes: truth.reduce(0) { $0 + $1.count },
    detections: detections.reduce(0) { $0 + $1.count })
}

/// One counted detection of one image and class: its score and, per IoU threshold, whether it matched a
/// true box and whether it is ignored (neither true nor false positive).
struct RankedDetection {
  var score: Float
  var matched: [Bool]
  var ignored: [Bool]
}

/// COCOeval.evaluateImg for one image and class: the detections ranked (stable, by score, the first
/// `maxDetections`), each matched greedily at every threshold to the unmatched true box of the highest
/// IoU at least the threshold (of equal IoUs, the later box). An unmatched detection of area below 0 or
/// above 1e10 (COCOeval's area range "all") is ignored.
func matched(_ truths: [Box], _ found: [LabeledBox]) -> [RankedDetection] {
  let order = found.indices.sorted {
    found[$0].score > found[$1].score || (found[$0].score == found[$1].score && $0 < $1)
  }
  let detections = order.prefix(DetectionScores.maxDetections).map { found[$0] }
  let thresholds = DetectionScores.iouThresholds
  var ranked = detections.map {
    RankedDetection(
      score: $0.score, matched: Array(repeating: false, count: thresholds.count),
      ignored: Array(repeating: false, count: thresholds.count))
  }
  let ious = detections.map { detection in truths.map { cocoIoU(detection.box, $0) } }
  for (t, threshold) in thresholds.enumerated() {
    var taken = [Bool](repeating: false, count: truths.count)
    for d in detections.indices {
      var best = min(threshold, 1 - 1e-10)
      var match = -1
      for g in truths.indices where !taken[g] && ious[d][g] >= best {
        best = ious[d][g]
        match = g
      }
      if match >= 0 {
        ranked[d].matched[t] = true
        taken[match] = true
      }
    }
  }
  for (d, detection) in detections.enumerated() {
    let (width, height) = cocoSize(detection.box)
    let outside = width * height < 0 || width * height > 1e10
    for t in thresholds.indices where !ranked[d].matched[t] && outside { ranked[d].ignored[t] = true }
  }
  return ranked
}

/// A box's COCO width and height in double precision: x1 - x0 and y1 - y0 of the F32 corners, exact,
/// so x + w gives x1 back as pycocotools computes it.
func cocoSize(_ box: Box) -> (width: Double, height: Double) {
  (Double(box.x1) - Double(box.x0), Double(box.y1) - Double(box.y0))
}

/// Intersection over union as pycocotools' bbIou computes it from [x, y, w, h] in double precision
/// (neither box a crowd): 0 when they do not overlap. (`Box.iou` is torchvision's, in F32, for the
/// decoder's NMS; evaluation takes COCOeval's, so that its matches are COCOeval's at every threshold.)
func cocoIoU(_ detection: Box, _ truth: Box) -> Double {
  let (dx, dy) = (Double(detection.x0), Double(detection.y0))
  let (dw, dh) = cocoSize(detection)
  let (gx, gy) = (Double(truth.x0), Double(truth.y0))
  let (gw, gh) = cocoSize(truth)
  let w = min(dw + dx, gw + gx) - max(dx, gx)
  guard w > 0 else { return 0 }
  let h = min(dh + dy, gh + gy) - max(dy, gy)
  guard h > 0 else { return 0 }
  let intersection = w * h
  return intersection / (dw * dh + gw * gh - intersection)
}

/// COCOeval.accumulate for one class: every image's counted detections (in image order) ranked by score
/// (stable), cumulative true and false positives, precision made non-increasing from the right, and
/// read at each recall threshold at the first rank whose recall reaches it (0 where none does).
func precision(_ detections: [RankedDetection], truths: Int) -> [[Double]] {
  let order = detections.indices.sorted {
    detections[$0].score > detections[$1].score || (detections[$0].score == detections[$1].score && $0 < $1)
  }
  let spacing = Double.ulpOfOne  // np.spacing(1)
  return DetectionScores.iouThresholds.indices.map { t in
    var (tp, fp) = (0.0, 0.0)
    var recall: [Double] = [], precision: [Double] = []
    for index in order {
      let detection = detections[index]
      if !detection.ignored[t] {
        if detection.matched[t] { tp += 1 } else { fp += 1 }
      }
      recall.append(tp / Double(truths))
      precision.append(tp / (fp + tp + spacing))
    }
    for i in stride(from: precision.count - 1, to: 0, by: -1) where precision[i] > precision[i - 1] {
      precision[i - 1] = precision[i]
    }
    return DetectionScores.recallThresholds.map { threshold in
      // numpy's searchsorted(side="left"): the first rank whose recall is at least the threshold.
      var (low, high) = (0, recall.count)
      while low < high {
        let middle = (low + high) / 2
        if recall[middle] < threshold { low = middle + 1 } else { high = middle }
      }
      return low < precision.count ? precision[low] : 0
    }
  }
}
