// Diff figures on hand-checked vectors, their roll-up into blocks, the block names, and the chart.

import Foundation
import Testing
import WeightSurgery

#if canImport(FoundationXML)
  import FoundationXML
#endif

@Suite struct DiffMetricsTests {
  @Test func figuresOnAHandCheckedPair() throws {
    var sums = DiffSums()
    sums.add(reference: [3, 4, 0], other: [3, 0, 4])
    #expect(sums.count == 3)
    #expect(abs(sums.l2 - (32.0.squareRoot())) <= 1e-12)
    let relative = try #require(sums.relative), cosine = try #require(sums.cosine)
    #expect(abs(relative - 32.0.squareRoot() / 5) <= 1e-12)
    #expect(abs(cosine - 9.0 / 25) <= 1e-12)
    #expect(sums.maxAbsDifference == 4)
  }

  @Test func edgeCasesAreDefinedNotNaN() {
    var zeros = DiffSums()
    zeros.add(reference: [0, 0], other: [0, 0])
    #expect(zeros.relative == 0)
    #expect(zeros.cosine == 1)
    var fromZero = DiffSums()
    fromZero.add(reference: [0, 0], other: [1, 0])
    #expect(fromZero.relative == nil)
    #expect(fromZero.cosine == nil)
    var bad = DiffSums()
    bad.add(reference: [1, .nan, 2], other: [1, 1, .infinity])
    #expect(bad.nonFinite == 2)
    #expect(bad.l2 == 0)
  }

  /// Block figures built from per-tensor sums equal the figures of the concatenated tensors.
  @Test func sumsRollUpExactly() throws {
    let a1: [Float] = (0..<1000).map { sin(Float($0)) }, b1 = a1.map { $0 * 1.01 + 0.001 }
    let a2: [Float] = (0..<777).map { cos(Float($0)) }, b2 = a2.map { -$0 }
    var s1 = DiffSums(), s2 = DiffSums(), whole = DiffSums()
    s1.add(reference: a1, other: b1)
    s2.add(reference: a2, other: b2)
    whole.add(reference: a1 + a2, other: b1 + b2)
    let rolled = s1 + s2
    #expect(rolled.count == whole.count)
    #expect(abs(rolled.l2 - whole.l2) <= 1e-6 * whole.l2)
    let rolledCosine = try #require(rolled.cosine), wholeCosine = try #require(whole.cosine)
    #expect(abs(rolledCosine - wholeCosine) <= 1e-6)
    #expect(abs(rolled.maxAbsDifference - 2 * Double(a2.map(abs).max()!)) <= 1e-6)
  }

  @Test func longVectorsKeepDoubleLikeAccuracy() {
    let n = 1_000_003
    let a = [Float](repeating: 0.1, count: n), b = [Float](repeating: 0.1000001, count: n)
    var sums = DiffSums()
    sums.add(reference: a, other: b)
    let exactA = Double(Float(0.1)), exactB = Double(Float(0.1000001))
    #expect(abs(sums.referenceSquares - (Double(n) * exactA * exactA)) <= 1e-5 * Double(n) * exactA * exactA)
    #expect(abs(sums.l2 - ((Double(n) * (exactB - exactA) * (exactB - exactA)).squareRoot())) <= 1e-5 * sums.l2)
  }

  @Test func blockGroupsOfTimmNames() {
    #expect(BlockGroup(tensorName: "blocks.11.mlp.fc2.weight") == .block(11))
    #expect(BlockGroup(tensorName: "base_model.model.blocks.3.mlp.fc1.lora_A.weight") == .block(3))
    #expect(BlockGroup(tensorName: "encoder.layer.2.output.dense.weight") == .block(2))
    #expect(BlockGroup(tensorName: "patch_embed.proj.weight") == .embeddings)
    #expect(BlockGroup(tensorName: "cls_token") == .embeddings)
    #expect(BlockGroup(tensorName: "pos_embed") == .embeddings)
    #expect(BlockGroup(tensorName: "norm.weight") == .head)
    #expect(BlockGroup(tensorName: "base_model.model.head.bias") == .head)
    #expect(BlockGroup(tensorName: "something.else") == .other)
    #expect(
      [BlockGroup.head, .block(10), .other, .block(2), .embeddings].sorted() == [
        .embeddings, .block(2), .block(10), .head, .other,
      ])
  }

  @Test func chartIsWellFormedXMLWithLegendAndLabels() throws {
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
    #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    #expect(svg.contains("&lt;learn &amp; forget&gt;"))
    #expect(svg.contains(">learn.kst</text>"))
    #expect(svg.contains(">forget.kst</text>"))
    #expect(svg.contains(">block</text>"))
    #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
  }

  @Test func niceTicksCoverTheRange() throws {
    let ticks = SVGChart.yTicks(low: 0, high: 0.87)
    #expect(ticks.first == 0)
    #expect(try #require(ticks.last) >= 0.87)
    #expect((4...8).contains(ticks.count), "\(ticks)")
    #expect(SVGChart.yTicks(low: 0, high: 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
  }
}
