// The table and JSON renderings of a hand-built report: exact text, so format changes are deliberate.

import TensorFile
import Testing
import WeightSurgery

@Suite struct DiffReportTests {
  func report() -> DiffReport {
    var report = DiffReport(mode: .checkpoints, files: ["dir/a.safetensors", "b.safetensors"])
    var sums = DiffSums()
    sums.add(reference: [3, 4], other: [3, 5])
    report.tensors = [
      .init(name: "blocks.0.mlp.fc1.weight", shapes: [[2], [2]], changes: [.init(status: .compared, sums: sums)]),
      .init(name: "head.weight", shapes: [[2], nil], changes: [.init(status: .missing)]),
    ]
    return report
  }

  @Test func table() {
    #expect(
      report().table(byBlock: false, metrics: [.l2, .relative]) == """
        reference: a.safetensors
        tensor                   ||B-A||  ||B-A||/||A||
        blocks.0.mlp.fc1.weight        1            0.2
        head.weight              missing        missing
        only in a.safetensors, not in b.safetensors: head.weight

        """)
    // cos = (9 + 20) / (5 * sqrt(34))
    #expect(
      report().table(byBlock: true, metrics: [.cosine]) == """
        reference: a.safetensors
        block    cosine
        0      0.994692
        head          -
        only in a.safetensors, not in b.safetensors: head.weight

        """)
  }

  @Test func json() throws {
    let json = report().json()
    #expect(json["version"] == .number(1))
    #expect(json["differs"] == .bool(true))
    #expect(json["files"] == .array([.string("dir/a.safetensors"), .string("b.safetensors")]))
    guard case let .array(tensors)? = json["tensors"], case let .array(changes)? = tensors[1]["changes"] else {
      Issue.record(Comment(rawValue: json.text()))
      return
    }
    #expect(changes[0].text() == #"{"file":1,"status":"missing"}"#)
    #expect(tensors[1]["shapes"] == .array([.array([.number(2)]), .null]))
    // Round trip through text: the writer's output is valid JSON that parses to the same value.
    #expect(try JSON(parsing: json.text(indent: 2), file: "report") == json)
  }
}
