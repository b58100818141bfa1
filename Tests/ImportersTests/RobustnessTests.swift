// Every prefix and many single-byte corruptions of each fixture: the importers may refuse them,
// but only by throwing, never by trapping or hanging.

import Importers
import Testing

@Suite struct RobustnessTests {
  /// Runs `parse` on every prefix of `bytes` and on `bytes` with each position (stepping by
  /// `step`) replaced by 0xFF and by 0x00; returns how many variants were refused.
  func damage(_ bytes: [UInt8], step: Int = 1, _ parse: ([UInt8]) throws -> Void) -> Int {
    var refused = 0
    var variants: [[UInt8]] = (0..<bytes.count).map { Array(bytes.prefix($0)) }
    for index in stride(from: 0, to: bytes.count, by: step) {
      for value: UInt8 in [0xFF, 0x00] where bytes[index] != value {
        var copy = bytes
        copy[index] = value
        variants.append(copy)
      }
    }
    for variant in variants {
      do { try parse(variant) } catch is ImportError { refused += 1 } catch {
        Issue.record("unexpected error \(error)")
      }
    }
    return refused
  }

  @Test func idx() {
    #expect(damage(Fixture.idxImages) { _ = try IDXArray(bytes: $0, file: "x") } > 16)
    let scratch = Scratch()
    #expect(damage(Fixture.idxImagesGzip) { _ = try IDXArray(path: scratch.write("x.gz", $0)) } > 40)
  }

  @Test func npy() {
    #expect(damage(Fixture.fortranBigEndianNpy) { _ = try NumpyArray(npy: $0, file: "x") } > 100)
  }

  @Test func npz() {
    let scratch = Scratch()
    #expect(
      damage(Fixture.npzCompressed, step: 7) { _ = try NumpyArray.readNPZ(path: scratch.write("x.npz", $0)) } > 100)
  }

  @Test func images() {
    for fixture in [Fixture.greyPNG, Fixture.colourPNG, Fixture.greyJPEG, Fixture.colourJPEG] {
      #expect(damage(fixture) { _ = try ImageDecoder.decode($0, channels: 3, file: "x") } > 20)
    }
  }

  @Test func csv() {
    let table = Array("p0,p1,p2,p3,label\n1,2,3,4,5\n6,7,8,9,0\n".utf8)
    #expect(damage(table) { _ = try Dataset.fromCSV(bytes: $0, file: "x") } > 5)
  }

  @Test func hugeLabelsAreRefused() {
    #expect(throws: ImportError(.limitExceeded, "x", "label 99999999999 is too large (labels are below 65536)")) {
      try Dataset.fromCSV(bytes: Array("1,2,3,4,99999999999\n".utf8), file: "x")
    }
  }
}
