// kswap-diff in-process: figures against a float64 computation here, the listing of tensors in one
// file only, --check statuses, the block view, adapters' LoRA norms, JSON and SVG output.

import Foundation
import TensorFile
import WeightSurgery
import XCTest

@testable import SurgeryCommands

final class DiffCommandTests: XCTestCase {
  func write(_ path: String, _ tensors: [(String, [Int], [Float])], metadata: [String: String] = [:]) throws {
    try TensorWriter.write(path: path, metadata: metadata, tensors: tensors.map { name, shape, values in
      (try TensorInfo(name: name, dtype: .f32, shape: shape), try FloatConversion.bytes(from: values, dtype: .f32))
    })
  }

  func run(_ arguments: [String]) -> Captured { capture { Diff.execute(arguments) } }

  func makePair(_ dir: ScratchDirectory) throws -> (a: [Float], b: [Float]) {
    var random = MergeArithmeticTests.Random(state: 9)
    let a = random.array(24), b = a.enumerated().map { $1 + 0.01 * sin(Float($0 * 7)) }
    try write(dir.file("a.safetensors"), [
      ("blocks.0.mlp.fc1.weight", [4, 6], a), ("blocks.1.mlp.fc1.weight", [4, 6], a), ("head.weight", [2, 3], [1, 2, 3, 4, 5, 6]),
      ("old", [1], [1]),
    ])
    try write(dir.file("b.safetensors"), [
      ("blocks.0.mlp.fc1.weight", [4, 6], b), ("blocks.1.mlp.fc1.weight", [4, 6], a), ("head.weight", [2, 3], [1, 2, 3, 4, 5, 6]),
      ("new", [1], [1]),
    ])
    return (a, b)
  }

  func testJSONFiguresMatchFloat64() throws {
    let dir = ScratchDirectory()
    let (a, b) = try makePair(dir)
    let result = run([dir.file("a.safetensors"), dir.file("b.safetensors"), "--json"])
    XCTAssertEqual(result.status, 0, result.standardError)
    let json = try JSON(parsing: result.text)
    XCTAssertEqual(json["version"], .number(1))
    XCTAssertEqual(json["differs"], .bool(true))
    guard case let .array(tensors)? = json["tensors"], case let .array(changes)? = tensors[0]["changes"] else {
      return XCTFail(result.text)
    }
    let change = changes[0]
    let diff = zip(a, b).map { Double($1) - Double($0) }
    let l2 = diff.map { $0 * $0 }.reduce(0, +).squareRoot()
    let normA = a.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
    let normB = b.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
    let dot = zip(a, b).map { Double($0) * Double($1) }.reduce(0, +)
    XCTAssertEqual(change["l2"]!.doubleValue!, l2, accuracy: 1e-6 * l2)
    XCTAssertEqual(change["relative"]!.doubleValue!, l2 / normA, accuracy: 1e-6 * l2 / normA)
    XCTAssertEqual(change["cosine"]!.doubleValue!, dot / (normA * normB), accuracy: 1e-6)
    XCTAssertEqual(change["max_abs"]!.doubleValue!, diff.map(abs).max()!, accuracy: 1e-7)
    let statuses = tensors.map { $0["changes"].flatMap { if case let .array(c) = $0 { return c[0]["status"]?.stringValue } else { return nil } } }
    XCTAssertEqual(statuses, ["compared", "compared", "compared", "missing", "added"])
  }

  func testTableListsTensorsInOneFileOnly() throws {
    let dir = ScratchDirectory()
    _ = try makePair(dir)
    let result = run([dir.file("a.safetensors"), dir.file("b.safetensors")])
    XCTAssertEqual(result.status, 0)
    XCTAssertTrue(result.text.contains("only in a.safetensors, not in b.safetensors: old"), result.text)
    XCTAssertTrue(result.text.contains("only in b.safetensors, not in a.safetensors: new"), result.text)
    let blocks = run([dir.file("a.safetensors"), dir.file("b.safetensors"), "--by", "block", "--metric", "l2"])
    let rows = blocks.text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    XCTAssertEqual(rows.first { $0.first == "1" }?.last, "0", blocks.text)
    XCTAssertNotEqual(rows.first { $0.first == "0" }?.last, "0", blocks.text)
  }

  func testCheckExitStatuses() throws {
    let dir = ScratchDirectory()
    _ = try makePair(dir)
    XCTAssertEqual(run([dir.file("a.safetensors"), dir.file("a.safetensors"), "--check"]).status, 0)
    let differs = run([dir.file("a.safetensors"), dir.file("b.safetensors"), "--check"])
    XCTAssertEqual(differs.status, 1)
    XCTAssertEqual(differs.text, "")
    try write(dir.file("c.safetensors"), [("x", [3], [1, 2, 3])])
    try write(dir.file("d.safetensors"), [("x", [3], [1, 2, 3.001])])
    XCTAssertEqual(run([dir.file("c.safetensors"), dir.file("d.safetensors"), "--check", "--tolerance", "0.01"]).status, 0)
    XCTAssertEqual(run([dir.file("c.safetensors"), dir.file("d.safetensors"), "--check", "--tolerance", "0.0001"]).status, 1)
    XCTAssertEqual(run([dir.file("c.safetensors"), dir.file("missing.safetensors")]).status, 2)
    XCTAssertEqual(run([dir.file("c.safetensors")]).status, 64)
    XCTAssertEqual(run([dir.file("c.safetensors"), dir.file("d.safetensors"), "--metric", "norm"]).status, 64)
    XCTAssertEqual(run([dir.file("c.safetensors"), dir.file("d.safetensors"), "--tolerance", "-1"]).status, 64)
  }

  func testAdapterNormsPerModuleAndBlock() throws {
    let dir = ScratchDirectory()
    let settings = LoRASettings(rank: 2, alpha: 4).metadata
    let a0: [Float] = [1, 0, 0, 0, 1, 0], b0: [Float] = [3, 0, 0, 4]  // A (2x3), B (2x2)
    let a1: [Float] = [0, 2, 0, 0, 0, 0], b1: [Float] = [1, 1, 0, 0]
    try write(dir.file("learn.safetensors"), [
      (AdapterNames.loraA("blocks.0.mlp.fc1"), [2, 3], a0), (AdapterNames.loraB("blocks.0.mlp.fc1"), [2, 2], b0),
      (AdapterNames.loraA("blocks.0.mlp.fc2"), [2, 3], a1), (AdapterNames.loraB("blocks.0.mlp.fc2"), [2, 2], b1),
    ], metadata: settings)
    let result = run([dir.file("learn.safetensors"), "--json"])
    XCTAssertEqual(result.status, 0, result.standardError)
    let json = try JSON(parsing: result.text)
    XCTAssertEqual(json["mode"], .string("adapters"))
    guard case let .array(blocks)? = json["blocks"], case let .array(lora)? = blocks[0]["lora"] else { return XCTFail(result.text) }
    // ||A0|| = sqrt(2), ||B0|| = 5, ||A1|| = 2, ||B1|| = sqrt(2); B0 A0 = [[3,0,0],[0,4,0]] -> 5, times scale 2 = 10;
    // B1 A1 = [[0,2,0],[0,0,0]] -> 2, times 2 = 4.
    XCTAssertEqual(lora[0]["norm"]!.doubleValue!, 2.0.squareRoot() + 5 + 2 + 2.0.squareRoot(), accuracy: 1e-9)
    XCTAssertEqual(lora[0]["delta"]!.doubleValue!, (100.0 + 16).squareRoot(), accuracy: 1e-9)
    let table = run([dir.file("learn.safetensors"), "--by", "block"])
    XCTAssertTrue(table.text.contains("10.7703"), table.text)
  }

  func testSVGIsWrittenAndValid() throws {
    let dir = ScratchDirectory()
    _ = try makePair(dir)
    let result = run([dir.file("a.safetensors"), dir.file("b.safetensors"), dir.file("a.safetensors"), "--svg", dir.file("chart.svg")])
    XCTAssertEqual(result.status, 0, result.standardError)
    let svg = try String(contentsOfFile: dir.file("chart.svg"), encoding: .utf8)
    XCTAssertTrue(svg.hasPrefix("<?xml"))
    XCTAssertTrue(svg.contains("<polyline"))
    XCTAssertTrue(result.text.contains("b.safetensors"))
    XCTAssertEqual(run([dir.file("a.safetensors"), dir.file("b.safetensors"), "--svg", dir.file("a.safetensors")]).status, 2)
  }
}
