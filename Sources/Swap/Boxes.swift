// Boxes for detection, shared by the detection datasets (ground truth), the detection head's decoding
// (predictions) and the COCO-style evaluation.

/// An axis-aligned box in pixel coordinates, corners (x0, y0) top-left and (x1, y1) bottom-right, x to
/// the right and y down, as COCO's xywh after x1 = x + w, y1 = y + h.
public struct Box: Equatable, Sendable {
  public var x0, y0, x1, y1: Float

  public init(x0: Float, y0: Float, x1: Float, y1: Float) {
    (self.x0, self.y0, self.x1, self.y1) = (x0, y0, x1, y1)
  }

  public var width: Float { x1 - x0 }
  public var height: Float { y1 - y0 }
  /// Zero for a box with no extent (a negative width or height counts as zero).
  public var area: Float { max(0, width) * max(0, height) }
}

/// A box with its class: a dataset's annotation (class = the dataset's label) or, with a score, a
/// model's prediction (class = the model's head row).
public struct LabeledBox: Equatable, Sendable {
  public var box: Box
  public var label: Int
  /// The model's confidence in [0, 1]; 1 for ground truth.
  public var score: Float

  public init(box: Box, label: Int, score: Float = 1) {
    (self.box, self.label, self.score) = (box, label, score)
  }
}

extension Box {
  /// Intersection over union with `other`, as torchvision's `box_iou` and its NMS kernel compute it
  /// (areas without the +1 of old pixel conventions); 0 when the union is empty.
  public func iou(_ other: Box) -> Float {
    let w = min(x1, other.x1) - max(x0, other.x0), h = min(y1, other.y1) - max(y0, other.y0)
    let intersection = max(0, w) * max(0, h), union = area + other.area - intersection
    return union > 0 ? intersection / union : 0
  }
}
