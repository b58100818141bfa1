// kswap-eval's two outputs for a classifier, table and JSON (Formats/eval-json.md), built from
// accuracies; pure text so tests can pin them. SegmentationReport has a segmentation model's.

import Foundation
import Swap
import TensorFile

struct EvaluatedSet {
  var name: String
  var file: String
  var accuracy: Accuracy
}

enum EvalReport {
  /// `93.4` style: one decimal, always the same text for the same number.
  static func percent(_ value: Double) -> String { String(format: "%.1f", value) }

  /// A row's class name; datasets' labels never land on an unused row (nil), which has none.
  static func className(_ classes: [String?], _ row: Int) -> String {
    row < classes.count ? classes[row] ?? "(unused row \(row))" : String(row)
  }

  static func table(_ sets: [EvaluatedSet], classes: [String?], perClass: Bool) -> String {
    let widest = classes.indices.map { className(classes, $0).count }.max() ?? 0
    let nameWidth = max(4, sets.map(\.name.count).max() ?? 0, perClass ? widest + 2 : 0)
    func row(_ name: String, _ images: String, _ correct: String, _ top1: String) -> String {
      name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
        + String(repeating: " ", count: max(0, 7 - images.count)) + images + "  "
        + String(repeating: " ", count: max(0, 7 - correct.count)) + correct + "  "
        + String(repeating: " ", count: max(0, 6 - top1.count)) + top1 + "\n"
    }
    var text = row("set", "images", "correct", "top-1%")
    for set in sets {
      text += row(set.name, String(set.accuracy.total), String(set.accuracy.correct), percent(set.accuracy.percent))
      guard perClass else { continue }
      for label in set.accuracy.perClass.keys.sorted() {
        let (correct, total) = set.accuracy.perClass[label]!
        let name = className(classes, label)
        text += row("  " + name, String(total), String(correct), percent(100 * Double(correct) / Double(total)))
      }
    }
    return text
  }

  static func json(model: String, adapters: [String], classes: [String?], sets: [EvaluatedSet]) -> String {
    func string(_ s: String) -> String { JSON.string(s).text() }
    func number(_ value: Double) -> String { String(format: "%.4g", value) }
    var lines: [String] = ["{"]
    lines.append("  \"model\": \(string(model)),")
    lines.append("  \"task\": \"classification\",")
    lines.append("  \"adapters\": [\(adapters.map(string).joined(separator: ", "))],")
    lines.append("  \"classes\": [\(classes.map { $0.map(string) ?? "null" }.joined(separator: ", "))],")
    lines.append("  \"sets\": [")
    for (index, set) in sets.enumerated() {
      let perClass = set.accuracy.perClass.keys.sorted().map { label -> String in
        let (correct, total) = set.accuracy.perClass[label]!
        let name = className(classes, label)
        return "        {\"class\": \(string(name)), \"row\": \(label), \"images\": \(total), \"correct\": \(correct), "
          + "\"accuracy\": \(number(100 * Double(correct) / Double(total)))}"
      }
      lines.append("    {")
      lines.append("      \"name\": \(string(set.name)),")
      lines.append("      \"file\": \(string(set.file)),")
      lines.append("      \"images\": \(set.accuracy.total),")
      lines.append("      \"correct\": \(set.accuracy.correct),")
      lines.append("      \"accuracy\": \(number(set.accuracy.percent)),")
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
