// Inputs with which the fuzz targets (Scripts/fuzz, Benchmarks/fuzz.md) crashed a reader, kept as tests
// that need no fuzzer: each is now refused with an error, or read as it should be. The same bytes are
// in the target's seeds (Fuzz/Corpus/TARGET/regression-*), so every fuzz run replays them too.

import Testing

@testable import Importers

@Suite struct FuzzRegressionTests {
  /// pickle and torch-pickle targets: a BINFLOAT whose last byte is 0x80 or more trapped ("Negative
  /// value is not representable"): its eight bytes were read as a signed integer first. Such floats
  /// are common: 0.1 is one.
  @Test func binaryFloatWithAHighLastByte() throws {
    // The fuzzer's input: BINFLOAT, then an unknown opcode 0xFF.
    #expect(throws: ImportError("p", "pickle: opcode 0xff is not supported at byte 10")) {
      try PickleProbe.load([0x47, 1, 0, 0, 0x88, 0x8C, 4, 0x8C, 0xFF, 0xFF, 0xFF, 0xFF])
    }
    // pickle.dumps(0.1, protocol=2)
    #expect(try PickleProbe.load([0x80, 2, 0x47, 0x3F, 0xB9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A, 0x2E]) == "0.1")
  }
}
