// Resource limits: every importer checks what a file claims against the limits and what the file can
// hold before it allocates or inflates anything (Tests/CLI/import/bombs.sh runs the large bombs under
// a memory limit; these are the checks themselves, on small files).

import Foundation
import Testing

@testable import Importers

@Suite struct LimitsTests {
  @Test func gzipClaimBeyondWhatItCanInflateToIsRefusedUnread() throws {
    let scratch = Scratch()
    let header = Fixture.npy(descr: "<f4", shape: "(536870912,)", data: [])
    let path = scratch.write("a.npy.gz", Gzip.stored(header))
    #expect(
      throws: ImportError(
        .truncated,
        path, "the .npy data needs 2147483648 bytes, more than a gzip stream of \(header.count + 23) bytes can hold")
    ) { try NumpyArray(path: path) }
  }

  @Test func storedFileThatClaimsMoreComesOutShort() throws {
    let scratch = Scratch()
    let path = scratch.write("a.npy", Fixture.npy(descr: "<f4", shape: "(1000,)", data: [0, 0, 0, 0, 0, 0, 0, 0]))
    #expect(throws: ImportError(.truncated, path, ".npy data has 8 bytes, shape [1000] of <f4 needs 4000")) {
      try NumpyArray(path: path)
    }
    let gzipped = scratch.write("a.npy.gz", Gzip.stored(Fixture.npy(descr: "<u1", shape: "(2,)", data: [1, 2, 3])))
    #expect(throws: ImportError(.trailingData, gzipped, ".npy data goes on past the 2 bytes shape [2] of <u1 needs")) {
      try NumpyArray(path: gzipped)
    }
  }

  @Test func limitIsCheckedBeforeReading() throws {
    let scratch = Scratch()
    let limits = ImportLimits(maxBytes: 1000)
    let path = scratch.write("a.npy", Fixture.npy(descr: "<f4", shape: "(1000,)", data: []))
    #expect(
      throws: ImportError(
        .limitExceeded,
        path, "the .npy data needs 4000 bytes, over the limit of 1000 (KSWAP_MAX_IMPORT_BYTES raises it)")
    ) { try NumpyArray(path: path, limits: limits) }
    let text = scratch.write("t.csv", [UInt8](repeating: 0x31, count: 20))
    #expect(
      throws: ImportError(
        .limitExceeded, text, "more than 10 bytes uncompressed, over the limit (KSWAP_MAX_IMPORT_BYTES raises it)")
    ) { try ArchiveInput.readDecompressed(path: text, limits: ImportLimits(maxBytes: 10)) }
    #expect(try ArchiveInput.readDecompressed(path: text, limits: ImportLimits(maxBytes: 20)).count == 20)
  }

  @Test func zipMemberIsCheckedAgainstItsDeclaredSizeFirst() throws {
    let scratch = Scratch()
    let npy = Fixture.npy(descr: "<f4", shape: "(536870912,)", data: [1, 2, 3, 4])
    let path = scratch.write("a.npz", Zip.stored([("x.npy", npy)]))
    #expect(
      throws: ImportError(
        .truncated, "\(path):x.npy", ".npy data has 4 bytes, shape [536870912] of <f4 needs 2147483648")
    ) {
      try NumpyArray.readNPZ(path: path)
    }
    let honest = Fixture.npy(descr: "<u1", shape: "(3,)", data: [7, 8, 9])
    let good = scratch.write("b.npz", Zip.stored([("y.npy", honest)]))
    #expect(try NumpyArray.readNPZ(path: good).map(\.array.data) == [[7, 8, 9]])
  }

  @Test func idxFromAStream() throws {
    let scratch = Scratch()
    let trailing = scratch.write("t-idx1-ubyte.gz", Gzip.stored([0, 0, 8, 1, 0, 0, 0, 2, 5, 6, 7]))
    #expect(
      throws: ImportError(
        .trailingData, trailing, "IDX data has trailing bytes: dimensions [2] need 2 bytes of u8, found more")
    ) { try IDXArray(path: trailing) }
    let short = scratch.write("s-idx1-ubyte", [0, 0, 8, 1, 0x7F, 0xFF, 0xFF, 0xFF, 5])
    #expect(
      throws: ImportError(
        .truncated, short, "IDX data truncated: dimensions [2147483647] need 2147483647 bytes of u8, found 1")
    ) { try IDXArray(path: short) }
    #expect(try IDXArray(path: scratch.write("g-idx1-ubyte.gz", Gzip.stored(Fixture.idxLabels))).payload == [7, 1])
  }

  @Test func csvRowsWiderThanTheLimitAreRefused() throws {
    let wide = Array((String(repeating: "0,", count: CSVRows.maxColumns) + "1\n").utf8)
    #expect(throws: ImportError(.limitExceeded, "w", "line 1 has more than 1048577 columns, the limit")) {
      try Dataset.fromCSV(bytes: wide, file: "w")
    }
    #expect(throws: ImportError(.limitExceeded, "w", "line 2 has more than 1048577 columns, the limit")) {
      try Dataset.fromCSV(bytes: Array("1,2,3,4,0\n".utf8) + wide, file: "w")
    }
    let scratch = Scratch()
    // From a stream the first line is checked as it arrives, before the rest is read.
    let path = scratch.write("w.csv.gz", Gzip.stored(wide + Array("1,2\n".utf8)))
    #expect(throws: ImportError(.limitExceeded, path, "line 1 has more than 1048577 columns, the limit")) {
      try ArchiveInput.withDecompressed(path: path) { try Dataset.fromCSV(stream: $0) }
    }
  }

  @Test func limitsFromTheEnvironment() throws {
    #expect(try ImportLimits.fromEnvironment([:]).maxBytes == ImportLimits.standard.maxBytes)
    let raised = try ImportLimits.fromEnvironment(["KSWAP_MAX_IMPORT_BYTES": "16G", "KSWAP_MAX_PICKLE_VALUES": "8m"])
    #expect(raised.maxBytes == 16 << 30 && raised.maxElements == 16 << 30)
    #expect(raised.maxPickleValues == 8 << 20)
    #expect(try ImportLimits.fromEnvironment(["KSWAP_MAX_IMPORT_BYTES": "4096"]).maxBytes == 4096)
    for bad in ["", "0", "-1", "8X", "lots", "99999999999T", "1.5G"] {
      #expect(
        throws: ImportError(
          .invalidOption,
          "KSWAP_MAX_IMPORT_BYTES", "must be a positive count such as 8589934592 or 8G, not '\(bad)'")
      ) { try ImportLimits.fromEnvironment(["KSWAP_MAX_IMPORT_BYTES": bad]) }
    }
  }

  @Test func imageHeadersThatClaimTooMuch() throws {
    #expect(
      throws: ImportError(
        .truncated,
        "p", "PNG of 69 bytes cannot hold its 8000x8000 image (192008000 bytes; deflate expands at most 1032-fold)")
    ) {
      try ImageDecoder.decode(PNGFile.rgb(width: 8000, height: 8000), channels: 3, file: "p")
    }
    #expect(
      throws: ImportError(.limitExceeded, "p", "image size 100000x100000 is empty or over the limit of 67108864 pixels")
    ) {
      try ImageDecoder.decode(PNGFile.rgb(width: 100_000, height: 100_000), channels: 3, file: "p")
    }
    var jpeg = Fixture.greyJPEG
    let frame = try #require(jpeg.indices.first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
    jpeg[(frame + 5)..<(frame + 9)] = [0x1F, 0x40, 0x1F, 0x40]  // 8000 x 8000
    #expect(throws: ImportError(.malformed, "j", "damaged JPEG: Corrupt JPEG data: premature end of data segment")) {
      try ImageDecoder.decode(jpeg, channels: 1, file: "j")
    }
    jpeg[(frame + 5)..<(frame + 9)] = [0xFD, 0xE8, 0xFD, 0xE8]  // 65000 x 65000
    #expect(
      throws: ImportError(.limitExceeded, "j", "image size 65000x65000 is empty or over the limit of 67108864 pixels")
    ) {
      try ImageDecoder.decode(jpeg, channels: 1, file: "j")
    }
  }
}

/// CRC-32 as zip, gzip and PNG use it.
func crc32(_ bytes: [UInt8]) -> UInt32 {
  bytes.withUnsafeBufferPointer { buffer in
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in buffer { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return ~crc
  }
}

private let crcTable: [UInt32] = (0..<256).map { index in
  (0..<8).reduce(UInt32(index)) { crc, _ in crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
}

func littleEndian32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
func littleEndian16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }

/// gzip members holding their content in stored deflate blocks (no compression).
enum Gzip {
  static func stored(_ content: [UInt8]) -> [UInt8] {
    var blocks: [UInt8] = []
    var start = 0
    repeat {
      let end = min(start + 65535, content.count)
      let length = end - start
      blocks += [end == content.count ? 1 : 0] + littleEndian16(length) + littleEndian16(~length & 0xFFFF)
      blocks += content[start..<end]
      start = end
    } while start < content.count
    return [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF] + blocks + littleEndian32(crc32(content))
      + littleEndian32(UInt32(truncatingIfNeeded: content.count))
  }
}

/// A zip archive of stored members.
enum Zip {
  static func stored(_ members: [(name: String, content: [UInt8])]) -> [UInt8] {
    var file: [UInt8] = []
    var directory: [UInt8] = []
    for (name, content) in members {
      let crc = littleEndian32(crc32(content))
      let size = littleEndian32(UInt32(content.count))
      let nameBytes = Array(name.utf8)
      directory +=
        [0x50, 0x4B, 1, 2, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0] + crc + size + size
        + littleEndian16(nameBytes.count)
        + [UInt8](repeating: 0, count: 12) + littleEndian32(UInt32(file.count)) + nameBytes
      file +=
        [0x50, 0x4B, 3, 4, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0] + crc + size + size + littleEndian16(nameBytes.count)
        + [0, 0] + nameBytes + content
    }
    return file + directory + [0x50, 0x4B, 5, 6, 0, 0, 0, 0] + littleEndian16(members.count)
      + littleEndian16(members.count) + littleEndian32(UInt32(directory.count)) + littleEndian32(UInt32(file.count))
      + [0, 0]
  }
}

/// A PNG whose header declares an 8-bit RGB image of any size, with a few bytes of pixel data.
enum PNGFile {
  static func rgb(width: Int, height: Int) -> [UInt8] {
    func chunk(_ kind: String, _ body: [UInt8]) -> [UInt8] {
      let typed = Array(kind.utf8) + body
      return bigEndian32(body.count) + typed + bigEndian32(Int(crc32(typed)))
    }
    func bigEndian32(_ value: Int) -> [UInt8] {
      (0..<4).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
    let header = bigEndian32(width) + bigEndian32(height) + [8, 2, 0, 0, 0]
    let idat: [UInt8] = [0x78, 0x01, 0x01, 0x01, 0x00, 0xFE, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x01]  // zlib of one zero byte
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", idat)
      + chunk("IEND", [])
  }
}
