// Detections in COCO's results format (Formats/eval-json.md, "COCO results"): a JSON array of
// {"image_id", "category_id", "bbox": [x, y, w, h], "score"}, what pycocotools' loadRes reads, so
// kswap's detections can be scored by pycocotools and another detector's by kswap-eval.

import TensorFile

public enum COCOResults {
  /// The results file of `detections` (per image; image i is id i + 1; each box's label is written as
  /// its category id): one detection per line, images in order, each image's detections in order. Every
  /// number is the double of kswap's F32 value (w = x1 - x0, exact) in its shortest round-trip form, so
  /// pycocotools computes with exactly the boxes and scores kswap has.
  public static func json(_ detections: [[LabeledBox]]) -> String {
    var lines: [String] = []
    for (image, boxes) in detections.enumerated() {
      for detection in boxes {
        let (w, h) = cocoSize(detection.box)
        let bbox: [JSON] = [
          .number(Double(detection.box.x0)), .number(Double(detection.box.y0)), .number(w), .number(h),
        ]
        lines.append(
          JSON.object([
            ("image_id", .integer(image + 1)), ("category_id", .integer(detection.label)), ("bbox", .array(bbox)),
            ("score", .number(Double(detection.score))),
          ]).text())
      }
    }
    return lines.isEmpty ? "[]\n" : "[\n" + lines.joined(separator: ",\n") + "\n]\n"
  }

  /// Reads a results file's `text` (named `file` in errors) for a set of `images` images whose labels are
  /// 0 ..< `classes` (`set` names it in errors): per image, its detections in file order, each labelled
  /// with its category id. Refused: anything but such an array, an image id outside 1 ... images, a
  /// category id outside the labels, and numbers that are not finite in F32. A bbox becomes x0 = x,
  /// y0 = y, x1 = x + w, y1 = y + h (in double precision, then F32: kswap's boxes are F32, pycocotools
  /// keeps doubles; the files kswap writes hold F32 values exactly).
  public static func read(_ text: String, file: String, images: Int, classes: Int, set: String) throws
    -> [[LabeledBox]]
  {
    guard let items = try JSON(parsing: text, file: file).arrayValue else {
      throw SwapError(.wrongFile, file: file, "not COCO results: expected a JSON array of detections")
    }
    var detections = [[LabeledBox]](repeating: [], count: images)
    for (index, item) in items.enumerated() {
      let place = "detection \(index)"
      guard let image = item["image_id"]?.intValue, (1...max(1, images)).contains(image), images > 0 else {
        throw SwapError(
          .mismatch, file: file,
          "\(place): image_id is not an image of \(set) (its \(images) images are ids 1 to \(images))")
      }
      guard let category = item["category_id"]?.intValue, (0..<classes).contains(category) else {
        throw SwapError(
          .mismatch, file: file,
          "\(place): category_id is not a class of \(set) (its \(classes) classes are ids 0 to \(classes - 1))")
      }
      guard let values = item["bbox"]?.arrayValue?.map(\.doubleValue), values.count == 4,
        case let numbers = values.compactMap({ $0 }), numbers.count == 4
      else {
        throw SwapError(
          .invalidResults, file: file, "\(place): bbox is not an array of 4 finite numbers [x, y, width, height]")
      }
      let corners = [numbers[0], numbers[1], numbers[0] + numbers[2], numbers[1] + numbers[3]].map { Float($0) }
      guard let score = item["score"]?.doubleValue.map({ Float($0) }), score.isFinite, corners.allSatisfy(\.isFinite)
      else {
        throw SwapError(.invalidResults, file: file, "\(place): its score and bbox must be finite numbers (as F32)")
      }
      detections[image - 1].append(
        LabeledBox(
          box: Box(x0: corners[0], y0: corners[1], x1: corners[2], y1: corners[3]), label: category, score: score))
    }
    return detections
  }
}
