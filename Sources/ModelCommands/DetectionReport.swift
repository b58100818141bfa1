// kswap-eval's two outputs for detections, table and JSON (Formats/eval-json.md, "Detection"), built
// from COCO-style scores; pure text so tests can pin them.

import Foundation
import Swap
import TensorFile

struct DetectedSetScores {
  var name: String
  var file: String
  var scores: DetectionScores
}

enum DetectionReport {
  /// A percentage as the table shows it, "-" where COCOeval has -1 (no true box).
  static func percent(_ value: Double?) -> String { value.map(EvalReport.percent) ?? "-" }

  static func table(_ sets: [DetectedSetScores], classes: [String?], perClass: Bool) -> String {
    let widest = classes.indices.map { EvalReport.className(classes, $0).count }.max() ?? 0
    let nameWidth = max(4, sets.map(\.name.count).max() ?? 0, perClass ? widest + 2 : 0)
    func right(_ text: String, _ width: Int) -> String {
      String(repeating: " ", count: max(0, width - text.count)) + text
    }
    func row(_ name: String, _ columns: [String]) -> String {
      name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
        + zip(columns, [7, 6, 10, 5, 6, 6]).map { "  " + right($0, $1) }.joined() + "\n"
    }
    var text = row("set", ["images", "boxes", "detections", "AP%", "AP50%", "AP75%"])
    for set in sets {
      let s = set.scores
      text += row(
        set.name,
        [String(s.images), String(s.boxes), String(s.detections), percent(s.ap), percent(s.ap50), percent(s.ap75)])
      guard perClass else { continue }
      for c in s.classes {
        text += row(
          "  " + EvalReport.className(classes, c.label),
          ["", String(c.boxes), String(c.detections), percent(c.ap), percent(c.ap50), percent(c.ap75)])
      }
    }
    return text
  }

  /// `model` is nil when a results file (`results`) is scored without one.
  static func json(
    model: String?, results: String?, adapters: [String], classes: [String?], sets: [DetectedSetScores]
  ) -> String {
    func string(_ s: String?) -> String { s.map { JSON.string($0).text() } ?? "null" }
    // The shortest decimal that reads back as the same double, or null where COCOeval has -1.
    func number(_ value: Double?) -> String { value.map { "\($0)" } ?? "null" }
    var lines: [String] = ["{"]
    lines.append("  \"model\": \(string(model)),")
    lines.append("  \"results\": \(string(results)),")
    lines.append("  \"task\": \"detection\",")
    lines.append("  \"adapters\": [\(adapters.map(string).joined(separator: ", "))],")
    lines.append("  \"classes\": [\(classes.map(string).joined(separator: ", "))],")
    lines.append("  \"sets\": [")
    for (index, set) in sets.enumerated() {
      let s = set.scores
      let perClass = s.classes.map { c -> String in
        "        {\"class\": \(string(EvalReport.className(classes, c.label))), \"row\": \(c.label), "
          + "\"boxes\": \(c.boxes), \"detections\": \(c.detections), \"ap\": \(number(c.ap)), "
          + "\"ap50\": \(number(c.ap50)), \"ap75\": \(number(c.ap75))}"
      }
      lines.append("    {")
      lines.append("      \"name\": \(string(set.name)),")
      lines.append("      \"file\": \(string(set.file)),")
      lines.append("      \"images\": \(s.images),")
      lines.append("      \"boxes\": \(s.boxes),")
      lines.append("      \"detections\": \(s.detections),")
      lines.append("      \"ap\": \(number(s.ap)),")
      lines.append("      \"ap50\": \(number(s.ap50)),")
      lines.append("      \"ap75\": \(number(s.ap75)),")
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
