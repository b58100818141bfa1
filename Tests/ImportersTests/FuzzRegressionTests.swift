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
    #expect(throws: ImportError(.unsupported, "p", "pickle: opcode 0xff is not supported at byte 10")) {
      try PickleProbe.load([0x47, 1, 0, 0, 0x88, 0x8C, 4, 0x8C, 0xFF, 0xFF, 0xFF, 0xFF])
    }
    // pickle.dumps(0.1, protocol=2)
    #expect(try PickleProbe.load([0x80, 2, 0x47, 0x3F, 0xB9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A, 0x2E]) == "0.1")
  }

  /// csv target: an integer label names that many classes, so an 11-byte table ("3,16777215") made 16.7
  /// million class names (68 s and 1.5 GB in a debug kswap-pack). A dataset has at most 65,536 classes
  /// now (`maxLabel`): the table is refused at once, and the largest label allowed is read in well under
  /// a second. The fuzzer's input is Fuzz/Corpus/csv/regression-label-bomb.
  @Test func tinyTableWithAHugeLabel() throws {
    let clock = ContinuousClock()
    let start = clock.now
    #expect(throws: ImportError(.limitExceeded, "t.csv", "label 16777215 is too large (labels are below 65536)")) {
      try Dataset.fromCSV(bytes: Array("3,16777215\n".utf8), file: "t.csv")
    }
    let largest = try Dataset.fromCSV(bytes: Array("3,65535\n".utf8), file: "t.csv")
    #expect(largest.classes.count == 65536)
    _ = largest.metadata()
    #expect(clock.now - start < .seconds(1))
  }
}
