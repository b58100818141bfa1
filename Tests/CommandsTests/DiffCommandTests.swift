// kswap-diff in-process: figures against a float64 computation here, the listing of tensors in one
// file only, --check statuses, the block view, adapters' LoRA norms, JSON and SVG output.

import Foundation
import TensorFile
import Testing
import WeightSurgery

@testable import SurgeryCommands

@Suite struct DiffCommandTests {
  func write(_ path: String, _ tensors: [(String, [Int], [Float])], metadata: [String: String] = [:]) throws {
    try TensorWriter.write(
      path: path, metadata: metadata,
      tensors: tensors.map { name, shape, values in
        (try TensorInfo(name: name, dtype: .f32, shape: shape), try FloatConversion.bytes(from: values, dtype: .f32))
      })
  }

  func run(_ arguments: [String]) -> Captured { capture { Diff.execute(arguments) } }

  func makePair(_ dir: ScratchDirectory) throws -> (a: [Float], b: [Float]) {
    var random = MergeArithmeticTests.Random(state: 9)
    let a = random.array(24), b = a.enumerated().map { $1 + 0.01 * sin(Float($0 * 7)) }
    try write(
      dir.file("a.safetensors"),
      [
        ("blocks.0.mlp.fc1.weight", [4, 6], a), ("blocks.1.mlp.fc1.weight", [4, 6], a),
        ("head.weight", [2, 3], [1, 2, 3, 4, 5, 6]),
        ("old", [1], [1]),
      ])
    try write(
      dir.file("b.safetensors"),
      [
        ("blocks.0.mlp.fc1.weight", [4, 6], b), ("blocks.1.mlp.fc1.weight", [4, 6], a),
        ("head.weight", [2, 3], [1, 2, 3, 4, 5, 6]),
        ("new", [1], [1]),
      ])
    return (a, b)
  }

  @Test func jsonFiguresMatchFloat64() throws {
    let dir = ScratchDirectory()
    let (a, b) = try makePair(dir)
    let result = run([dir.file("a.safetensors"), dir.file("b.safetensors"), "--json"])
    #expect(result.status == 0, "\(result.standardError)")
    let json = try JSON(parsing: result.text, file: "stdout")
    #expect(json["version"] == .number(1))
    #expect(json["differs"] == .bool(true))
    guard case let .array(tensors)? = json["tensors"], case let .array(changes)? = tensors[0]["changes"] else {
      Issue.record(Comment(rawValue: result.text))
      return
    }
    let change = changes[0]
    let diff = zip(a, b).map { Double($1) - Double($0) }
    let l2 = diff.map { $0 * $0 }.reduce(0, +).squareRoot()
    let normA = a.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
    let normB = b.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
    let dot = zip(a, b).map { Double($0) * Double($1) }.reduce(0, +)
    let gotL2 = try #require(change["l2"]?.doubleValue), relative = try #require(change["relative"]?.doubleValue)
    let cosine = try #require(change["cosine"]?.doubleValue), maxAbs = try #require(change["max_abs"]?.doubleValue)
    #expect(abs(gotL2 - l2) <= 1e-6 * l2)
    #expect(abs(relative - l2 / normA) <= 1e-6 * l2 / normA)
    #expect(abs(cosine - dot / (normA * normB)) <= 1e-6)
    #expect(abs(maxAbs - diff.map(abs).max()!) <= 1e-7)
    let statuses = tensors.map {
      $0["changes"].flatMap { if case let .array(c) = $0 { return c[0]["status"]?.stringValue } else { return nil } }
    }
    #expect(statuses == ["compared", "compared", "compared", "missing", "added"])
  }

  @Test func tableListsTensorsInOneFileOnly() throws {
    let dir = ScratchDirectory()
    _ = try makePair(dir)
    let result = run([dir.file("a.safetensors"), dir.file("b.safetensors")])
    #expect(result.status == 0)
    #expect(result.text.contains("only in a.safetensors, not in b.safetensors: old"), "\(result.text)")
    #expect(result.text.contains("only in b.safetensors, not in a.safetensors: new"), "\(result.text)")
    let blocks = run([dir.file("a.safetensors"), dir.file("b.safetensors"), "--by", "block", "--metric", "l2"])
    let rows = blocks.text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    #expect(rows.first { $0.first == "1" }?.last == "0", "\(blocks.text)")
    #expect(rows.first { $0.first == "0" }?.last != "0", "\(blocks.text)")
  }

  @Test func checkExitStatuses() throws {
    let dir = ScratchDirectory()
    _ = try makePair(dir)
    #expect(run([dir.file("a.safetensors"), dir.file("a.safetensors"), "--check"]).status == 0)
    let differs = run([dir.file("a.safetensors"), dir.file("b.safetensors"), "--check"])
    #expect(differs.status == 1)
    #expect(differs.text == "")
    try write(dir.file("c.safetensors"), [("x", [3], [1, 2, 3])])
    try write(dir.file("d.safetensors"), [("x", [3], [1, 2, 3.001])])
    #expect(run([dir.file("c.safetensors"), dir.file("d.safetensors"), "--check", "--tolerance", "0.01"]).status == 0)
    #expect(
      run([dir.file("c.safetensors"), dir.file("d.safetensors"), "--check", "--tolerance", "0.0001"]).status == 1)
    #expect(run([dir.file("c.safetensors"), dir.file("missing.safetensors")]).status == 2)
    #expect(run([dir.file("c.safetensors")]).status == 64)
    #expect(run([dir.file("c.safetensors"), dir.file("d.safetensors"), "--metric", "norm"]).status == 64)
    #expect(run([dir.file("c.safetensors"), dir.file("d.safetensors"), "--tolerance", "-1"]).status == 64)
  }

  @Test func adapterNormsPerModuleAndBlock() throws {
    let dir = ScratchDirectory()
    let settings = LoRASettings(rank: 2, alpha: 4).metadata
    let a0: [Float] = [1, 0, 0, 0, 1, 0], b0: [Float] = [3, 0, 0, 4]  // A (2x3), B (2x2)
    let a1: [Float] = [0, 2, 0, 0, 0, 0], b1: [Float] = [1, 1, 0, 0]
    try write(
      dir.file("learn.safetensors"),
      [
        (AdapterNames.loraA("blocks.0.mlp.fc1"), [2, 3], a0), (AdapterNames.loraB("blocks.0.mlp.fc1"), [2, 2], b0),
        (AdapterNames.loraA("blocks.0.mlp.fc2"), [2, 3], a1), (AdapterNames.loraB("blocks.0.mlp.fc2"), [2, 2], b1),
      ], metadata: settings)
    let result = run([dir.file("learn.safetensors"), "--json"])
    #expect(result.status == 0, "\(result.standardError)")
    let json = try JSON(parsing: result.text, file: "stdout")
    #expect(json["mode"] == .string("adapters"))
    guard case let .array(blocks)? = json["blocks"], case let .array(lora)? = blocks[0]["lora"] else {
      Issue.record(Comment(rawValue: result.text))
      return
    }
    // ||A0|| = sqrt(2), ||B0|| = 5, ||A1|| = 2, ||B1|| = sqrt(2); B0 A0 = [[3,0,0],[0,4,0]] -> 5, times scale 2 = 10;
    // B1 A1 = [[0,2,0],[0,0,0]] -> 2, times 2 = 4.
    let norm = try #require(lora[0]["norm"]?.doubleValue), delta = try #require(lora[0]["delta"]?.doubleValue)
    #expect(abs(norm - (2.0.squareRoot() + 5 + 2 + 2.0.squareRoot())) <= 1e-9)
    #expect(abs(delta - (100.0 + 16).squareRoot()) <= 1e-9)
    let table = run([dir.file("learn.safetensors"), "--by", "block"])
    #expect(table.text.contains("10.7703"), "\(table.text)")
  }

  @Test func svgIsWrittenAndValid() throws {
    let dir = ScratchDirectory()
    _ = try makePair(dir)
    let result = run([
      dir.file("a.safetensors"), dir.file("b.safetensors"), dir.file("a.safetensors"), "--svg", dir.file("chart.svg"),
    ])
    #expect(result.status == 0, "\(result.standardError)")
    let svg = try String(contentsOfFile: dir.file("chart.svg"), encoding: .utf8)
    #expect(svg.hasPrefix("<?xml"))
    #expect(svg.contains("<polyline"))
    #expect(result.text.contains("b.safetensors"))
    #expect(
      run([dir.file("a.safetensors"), dir.file("b.safetensors"), "--svg", dir.file("a.safetensors")]).status == 2)
  }
}
