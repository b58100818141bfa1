// Diff figures on hand-checked vectors, their roll-up into blocks, the block names, and the chart.

import XCTest
import WeightSurgery
#if canImport(FoundationXML)
import FoundationXML
#endif

final class DiffMetricsTests: XCTestCase {
  func testFiguresOnAHandCheckedPair() {
    var sums = DiffSums()
    sums.add(reference: [3, 4, 0], other: [3, 0, 4])
    XCTAssertEqual(sums.count, 3)
    XCTAssertEqual(sums.l2, 32.0.squareRoot(), accuracy: 1e-12)
    XCTAssertEqual(sums.relative!, 32.0.squareRoot() / 5, accuracy: 1e-12)
    XCTAssertEqual(sums.cosine!, 9.0 / 25, accuracy: 1e-12)
    XCTAssertEqual(sums.maxAbsDifference, 4)
  }

  func testEdgeCasesAreDefinedNotNaN() {
    var zeros = DiffSums()
    zeros.add(reference: [0, 0], other: [0, 0])
    XCTAssertEqual(zeros.relative, 0)
    XCTAssertEqual(zeros.cosine, 1)
    var fromZero = DiffSums()
    fromZero.add(reference: [0, 0], other: [1, 0])
    XCTAssertNil(fromZero.relative)
    XCTAssertNil(fromZero.cosine)
    var bad = DiffSums()
    bad.add(reference: [1, .nan, 2], other: [1, 1, .infinity])
    XCTAssertEqual(bad.nonFinite, 2)
    XCTAssertEqual(bad.l2, 0)
  }

  /// Block figures built from per-tensor sums equal the figures of the concatenated tensors.
  func testSumsRollUpExactly() {
    let a1: [Float] = (0..<1000).map { sin(Float($0)) }, b1 = a1.map { $0 * 1.01 + 0.001 }
    let a2: [Float] = (0..<777).map { cos(Float($0)) }, b2 = a2.map { -$0 }
    var s1 = DiffSums(), s2 = DiffSums(), whole = DiffSums()
    s1.add(reference: a1, other: b1)
    s2.add(reference: a2, other: b2)
    whole.add(reference: a1 + a2, other: b1 + b2)
    let rolled = s1 + s2
    XCTAssertEqual(rolled.count, whole.count)
    XCTAssertEqual(rolled.l2, whole.l2, accuracy: 1e-6 * whole.l2)
    XCTAssertEqual(rolled.cosine!, whole.cosine!, accuracy: 1e-6)
    XCTAssertEqual(rolled.maxAbsDifference, 2 * Double(a2.map(abs).max()!), accuracy: 1e-6)
  }

  func testLongVectorsKeepDoubleLikeAccuracy() {
    let n = 1_000_003
    let a = [Float](repeating: 0.1, count: n), b = [Float](repeating: 0.1000001, count: n)
    var sums = DiffSums()
    sums.add(reference: a, other: b)
    let exactA = Double(Float(0.1)), exactB = Double(Float(0.1000001))
    XCTAssertEqual(sums.referenceSquares, Double(n) * exactA * exactA, accuracy: 1e-5 * Double(n) * exactA * exactA)
    XCTAssertEqual(sums.l2, (Double(n) * (exactB - exactA) * (exactB - exactA)).squareRoot(), accuracy: 1e-5 * sums.l2)
  }

  func testBlockGroupsOfTimmNames() {
    XCTAssertEqual(BlockGroup(tensorName: "blocks.11.mlp.fc2.weight"), .block(11))
    XCTAssertEqual(BlockGroup(tensorName: "base_model.model.blocks.3.mlp.fc1.lora_A.weight"), .block(3))
    XCTAssertEqual(BlockGroup(tensorName: "encoder.layer.2.output.dense.weight"), .block(2))
    XCTAssertEqual(BlockGroup(tensorName: "patch_embed.proj.weight"), .embeddings)
    XCTAssertEqual(BlockGroup(tensorName: "cls_token"), .embeddings)
    XCTAssertEqual(BlockGroup(tensorName: "pos_embed"), .embeddings)
    XCTAssertEqual(BlockGroup(tensorName: "norm.weight"), .head)
    XCTAssertEqual(BlockGroup(tensorName: "base_model.model.head.bias"), .head)
    XCTAssertEqual(BlockGroup(tensorName: "something.else"), .other)
    XCTAssertEqual([BlockGroup.head, .block(10), .other, .block(2), .embeddings].sorted(),
      [.embeddings, .block(2), .block(10), .head, .other])
  }

  func testChartIsWellFormedXMLWithLegendAndLabels() throws {
    let categories: [String] = ["embed"] + (0..<12).map { String($0) } + ["head"]
    var learn: [Double?] = [nil]
    var forget: [Double?] = [nil]
    for block in 0..<12 {
      learn.append(Double(block) * 0.1)
      forget.append(1.2 - Double(block) * 0.1)
    }
    learn.append(nil)
    forget.append(nil)
    let chart = SVGChart(
      title: "LoRA norm per block <learn & forget>", xLabel: "block", yLabel: "norm", categories: categories,
      series: [SVGChart.Series(name: "learn.kst", values: learn), SVGChart.Series(name: "forget.kst", values: forget)])
    let svg = chart.render()
    let parser = XMLParser(data: Data(svg.utf8))
    XCTAssertTrue(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    XCTAssertTrue(svg.contains("&lt;learn &amp; forget&gt;"))
    XCTAssertTrue(svg.contains(">learn.kst</text>"))
    XCTAssertTrue(svg.contains(">forget.kst</text>"))
    XCTAssertTrue(svg.contains(">block</text>"))
    XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
  }

  func testNiceTicksCoverTheRange() {
    let ticks = SVGChart.yTicks(low: 0, high: 0.87)
    XCTAssertEqual(ticks.first, 0)
    XCTAssertGreaterThanOrEqual(ticks.last!, 0.87)
    XCTAssertTrue((4...8).contains(ticks.count), "\(ticks)")
    XCTAssertEqual(SVGChart.yTicks(low: 0, high: 0), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
  }
}
