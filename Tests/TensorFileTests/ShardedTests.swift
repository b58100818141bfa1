// Sharded checkpoints: model.safetensors.index.json read as one logical file.

import Foundation
import Testing

@testable import TensorFile

@Suite struct Sharded {
  let scratch = ScratchDirectory()

  func shard(_ name: String, _ tensors: [(String, [UInt8])], metadata: [String: String] = ["format": "pt"]) throws {
    try TensorWriter.write(
      path: scratch.file(name), metadata: metadata,
      tensors: try tensors.map { (try TensorInfo(name: $0.0, dtype: .u8, shape: [$0.1.count]), $0.1) })
  }

  func index(_ map: [String: String]) -> String {
    let entries = map.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
    return scratch.write(
      "model.safetensors.index.json", Array(#"{"metadata":{"total_size":7},"weight_map":{\#(entries)}}"#.utf8))
  }

  @Test func readsShardsAsOneFile() throws {
    try shard("model-00002-of-00002.safetensors", [("c", [5, 6, 7])])
    try shard("model-00001-of-00002.safetensors", [("b", [3, 4]), ("a", [1, 2])])
    let reader = try TensorReader(
      path: index([
        "a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
        "c": "model-00002-of-00002.safetensors",
      ]))
    #expect(reader.format == .sharded)
    #expect(reader.tensors.map(\.name) == ["a", "b", "c"])
    #expect(reader.metadata == ["format": "pt"])
    #expect(try reader.bytes(of: "c") == [5, 6, 7])
    var order: [String] = []
    try reader.forEachTensor { info, _ in order.append(info.name) }
    #expect(order == ["a", "b", "c"])
  }

  @Test func indexMustMatchTheShards() throws {
    try shard("s1.safetensors", [("a", [1]), ("b", [2])])
    try shard("s2.safetensors", [("c", [3])])
    let cases: [[String: String]] = [
      ["a": "s1.safetensors", "c": "s2.safetensors"],  // b unlisted
      ["a": "s1.safetensors", "b": "s2.safetensors", "c": "s2.safetensors"],  // b in the wrong shard
      ["a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors", "d": "s2.safetensors"],  // d missing
      ["a": "s1.safetensors", "b": "s1.safetensors", "c": "../s2.safetensors"],  // escapes the directory
      ["a": "s1.safetensors", "b": "s1.safetensors", "c": "missing.safetensors"],
    ]
    for map in cases {
      #expect(throws: TensorFileError.self, "\(map)") { try TensorReader(path: index(map)) }
    }
    let notAnIndex = scratch.write("bad.index.json", Array(#"{"weights":{}}"#.utf8))
    #expect(throws: TensorFileError.self) { try TensorReader(path: notAnIndex) }
  }
}
