// kswap-eval's two outputs for a segmentation model, table and JSON (Formats/eval-json.md), built from
// pixel scores; pure text so tests can pin them.

import Foundation
import Swap
import TensorFile

struct SegmentedSetScores {
  var name: String
  var file: String
  var scores: PixelScores
}

enum SegmentationReport {
  static func table(_ sets: [SegmentedSetScores], classes: [String?], perClass: Bool) -> String {
    let widest = classes.indices.map { EvalReport.className(classes, $0).count }.max() ?? 0
    let nameWidth = max(4, sets.map(\.name.count).max() ?? 0, perClass ? widest + 2 : 0)
    func right(_ text: String, _ width: Int) -> String {
      String(repeating: " ", count: max(0, width - text.count)) + text
    }
    func row(_ name: String, _ images: String, _ pixels: String, _ accuracy: String, _ iou: String) -> String {
      name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  " + right(images, 7) + "  "
        + right(pixels, 9) + "  " + right(accuracy, 6) + "  " + right(iou, 6) + "\n"
    }
    var text = row("set", "images", "pixels", "pixel%", "mIoU%")
    for set in sets {
      let s = set.scores
      text += row(
        set.name, String(s.images), String(s.counted), EvalReport.percent(s.pixelAccuracy),
        EvalReport.percent(s.meanIoU))
      guard perClass else { continue }
      // A class's line: its true pixels, the percent of them predicted right, and its IoU.
      for label in s.presentRows {
        text += row(
          "  " + EvalReport.className(classes, label), "", String(s.truth[label]),
          EvalReport.percent(100 * Double(s.intersection[label]) / Double(s.truth[label])),
          EvalReport.percent(s.iou(label)))
      }
    }
    return text
  }

  static func json(model: String, adapters: [String], classes: [String?], sets: [SegmentedSetScores]) -> String {
    func string(_ s: String) -> String { JSON.string(s).text() }
    // The shortest decimal that reads back as the same double: a script recomputing a figure can match it.
    func number(_ value: Double) -> String { "\(value)" }
    var lines: [String] = ["{"]
    lines.append("  \"model\": \(string(model)),")
    lines.append("  \"task\": \"segmentation\",")
    lines.append("  \"adapters\": [\(adapters.map(string).joined(separator: ", "))],")
    lines.append("  \"classes\": [\(classes.map { $0.map(string) ?? "null" }.joined(separator: ", "))],")
    lines.append("  \"sets\": [")
    for (index, set) in sets.enumerated() {
      let s = set.scores
      let perClass = s.presentRows.map { row -> String in
        "        {\"class\": \(string(EvalReport.className(classes, row))), \"row\": \(row), "
          + "\"pixels\": \(s.truth[row]), \"predicted\": \(s.predicted[row]), "
          + "\"intersection\": \(s.intersection[row]), \"iou\": \(number(s.iou(row)))}"
      }
      lines.append("    {")
      lines.append("      \"name\": \(string(set.name)),")
      lines.append("      \"file\": \(string(set.file)),")
      lines.append("      \"images\": \(s.images),")
      lines.append("      \"pixels\": \(s.counted),")
      lines.append("      \"correct\": \(s.correct),")
      lines.append("      \"pixel_accuracy\": \(number(s.pixelAccuracy)),")
      lines.append("      \"miou\": \(number(s.meanIoU)),")
      lines.append("      \"per_class\": [")
      lines.append(perClass.joined(separator: ",\n"))
      lines.append("      ]")
      lines.append(index == sets.count - 1 ? "    }" : "    },")
    }
    lines.append("  ]")
    lines.append("}")
    return lines.filter { !$0.isEmpty }.joined(separator: "\n") + "\n"
  }
}
