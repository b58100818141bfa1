// Inputs with which a fuzz target (Scripts/fuzz, Benchmarks/fuzz.md) crashed a reader, kept as tests that
// need no fuzzer: each is now refused with an error. The same bytes are in the target's seeds
// (Fuzz/Corpus/TARGET/regression-*), so every fuzz run replays them too.

import Testing

@testable import TensorFile

@Suite struct FuzzRegressionTests {
  /// sharded-index target (found while writing it): an index whose weight_map names the index itself,
  /// or another index that names it back, was opened again and again until the stack overflowed
  /// (SIGSEGV). A shard that is an index is now refused before it is opened.
  @Test func indexNamingAnIndex() throws {
    let scratch = ScratchDirectory()
    let itself = scratch.write(
      "model.safetensors.index.json", Array(#"{"weight_map":{"a":"model.safetensors.index.json"}}"#.utf8))
    #expect(
      throws: TensorFileError(
        .invalidHeaderDeserialization, file: itself, "shard model.safetensors.index.json is itself an index")
    ) { try TensorReader(path: itself) }
    let first = scratch.write("first.index.json", Array(#"{"weight_map":{"a":"second.index.json"}}"#.utf8))
    _ = scratch.write("second.index.json", Array(#"{"weight_map":{"a":"first.index.json"}}"#.utf8))
    #expect(
      throws: TensorFileError(.invalidHeaderDeserialization, file: first, "shard second.index.json is itself an index")
    ) { try TensorReader(path: first) }
  }
}
