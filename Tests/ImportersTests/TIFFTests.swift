// The baseline TIFF reader: tifffile's files (Tests/Fixtures/tiff, Scripts/make-tiff-fixtures.py) read
// exactly, everything outside the subset refused by tag, and hand-made hostile files refused, never a trap.

import Foundation
import Importers
import Testing

private let tiffFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("Fixtures/tiff")

private func fixture(_ name: String) throws -> [UInt8] {
  [UInt8](try Data(contentsOf: tiffFixtures.appendingPathComponent(name)))
}

/// Scripts/make-tiff-fixtures.py's `pattern`: sample (row, column, channel), channels interleaved.
private func pattern(height: Int, width: Int, channels: Int, bits: Int) -> [UInt16] {
  var values: [UInt16] = []
  for row in 0..<height {
    for column in 0..<width {
      for channel in 0..<channels {
        values.append(
          bits == 8
            ? UInt16((row * 31 + column * 7 + channel * 85) % 256)
            : UInt16((row * 4099 + column * 257 + channel * 12345) % 65536))
      }
    }
  }
  return values
}

/// The message `body` throws, or nil when it returns.
private func refusal(_ body: () throws -> Void) -> String? {
  do {
    try body()
    return nil
  } catch {
    return "\(error)"
  }
}

/// A little-endian 8-bit grey TIFF made by hand: the header, the pixels at offset 8, then one image
/// directory. `change` replaces (or, with nil, removes) entries: tag -> (field type, count, value).
private func craftedTIFF(
  width: Int = 4, height: Int = 3, change: [Int: (type: Int, count: Int, value: Int)?] = [:]
) -> [UInt8] {
  let pixels = (0..<width * height).map { UInt8($0 % 256) }
  var entries: [Int: (type: Int, count: Int, value: Int)] = [
    256: (4, 1, width), 257: (4, 1, height), 258: (3, 1, 8), 259: (3, 1, 1), 262: (3, 1, 1),
    273: (4, 1, 8), 277: (3, 1, 1), 278: (4, 1, height), 279: (4, 1, width * height),
  ]
  for (tag, entry) in change { entries[tag] = entry }
  func le(_ value: Int, _ bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
  var file: [UInt8] = [0x49, 0x49] + le(42, 2) + le(8 + pixels.count, 4) + pixels
  file += le(entries.count, 2)
  for tag in entries.keys.sorted() {
    let entry = entries[tag]!
    file += le(tag, 2) + le(entry.type, 2) + le(entry.count, 4) + le(entry.value, 4)
  }
  return file + le(0, 4)
}

@Suite struct TIFFTests {
  @Test(arguments: [
    ("grey8-le-5x7.tif", 5, 7, 1, 8), ("grey16-be-5x7-strips.tif", 5, 7, 1, 16),
    ("rgb8-le-6x4-strips.tif", 6, 4, 3, 8), ("rgb16-be-3x5.tif", 3, 5, 3, 16),
    ("grey16-le-35x20-tiles.tif", 35, 20, 1, 16), ("rgb8-be-17x18-tiles.tif", 17, 18, 3, 8),
  ])
  func tifffileImagesReadExactly(name: String, height: Int, width: Int, channels: Int, bits: Int) throws {
    let bytes = try fixture(name)
    #expect(ImageDecoder.format(of: bytes) == .tiff)
    #expect(try TIFF.header(bytes, file: name) == (width, height, channels))
    let image = try TIFF.read(bytes, file: name)
    #expect(
      [image.width, image.height, image.channels, image.bitsPerSample] as [Int] == [width, height, channels, bits])
    #expect(image.samples == pattern(height: height, width: width, channels: channels, bits: bits))
  }

  @Test(arguments: [
    ("refused-deflate.tif", "Compression (259) is 8 (Deflate); only uncompressed (1) files are read"),
    ("refused-float.tif", "SampleFormat (339) is 3 (floating point)"),
    ("refused-signed.tif", "SampleFormat (339) is 2 (signed integers)"),
    ("refused-palette.tif", "PhotometricInterpretation (262) is 3 (palette)"),
    ("refused-planar.tif", "PlanarConfiguration (284) is 2"),
    ("refused-alpha.tif", "SamplesPerPixel (277) is 4 with PhotometricInterpretation (262) 2"),
    ("refused-two-pages.tif", "the file holds more than one image (a second directory at offset"),
    ("refused-bigtiff.tif", "BigTIFF (version 43) is not read"),
    ("refused-32bit.tif", "BitsPerSample (258) is 32; 8 or 16 bits per sample are read"),
    ("refused-1bit.tif", "BitsPerSample (258) is 1;"),
  ])
  func unsupportedFilesAreRefusedByTag(name: String, message: String) throws {
    let bytes = try fixture(name)
    let error = refusal { _ = try TIFF.read(bytes, file: name) }
    #expect(error?.hasPrefix("\(name): unsupported TIFF: ") == true, "\(error ?? "no error")")
    #expect(error?.contains(message) == true, "\(error ?? "no error")")
  }

  @Test func craftedFileReads() throws {
    let image = try TIFF.read(craftedTIFF(), file: "c.tif")
    #expect(image.samples == (0..<12).map { UInt16($0) })
    // A strip longer than its rows (padding) is accepted; only the rows are read.
    #expect(try TIFF.read(craftedTIFF(change: [279: (4, 1, 12)]), file: "c.tif").samples.count == 12)
  }

  @Test(
    arguments: [
      // The strip holds fewer bytes than its rows need.
      ([279: (4, 1, 5)], "strip 0 holds 5 bytes; its 3 rows of 4 pixels need 12"),
      // Offsets and counts outside the file, and their sum past 2^32.
      ([273: (4, 1, 1_000_000)], "strip 0 (12 bytes at offset 1000000) runs past the end of the file"),
      ([273: (4, 1, 0xFFFF_FFFF)], "runs past the end of the file"),
      ([279: (4, 1, 0xFFFF_FFFF)], "strip 0 (4294967295 bytes at offset 8) runs past the end of the file"),
      // A value array (4 billion LONGs) far larger than the file.
      ([273: (4, 0xFFFF_FFFF, 16)], "StripOffsets (273)'s 4294967295 values at offset 16 run past the end of the file"),
      // A size whose pixel count overflows 64 bits.
      (
        [256: (4, 1, 0xFFFF_FFFF), 257: (4, 1, 0xFFFF_FFFF)],
        "image size 4294967295x4294967295 is empty or over the limit"
      ),
      ([256: (4, 1, 0)], "image size 0x3 is empty"),
      ([278: (4, 1, 0)], "RowsPerStrip (278) is 0"),
      ([279: nil], "the required tag StripByteCounts (279) is missing"),
      ([262: nil], "the required tag PhotometricInterpretation (262) is missing"),
      ([278: (4, 1, 1)], "1 StripOffsets (273) and 1 StripByteCounts (279) values for the image's 3 blocks"),
      ([256: (2, 1, 4)], "ImageWidth (256) has field type 2; BYTE, SHORT or LONG expected"),
      ([259: (3, 2, 1)], "Compression (259) has 2 values, expected one"),
      ([274: (3, 1, 3)], "Orientation (274) is 3"),
      ([322: (3, 1, 0), 323: (3, 1, 16), 324: (4, 1, 8), 325: (4, 1, 12)], "tile size 0x16 is empty"),
      (
        [322: (3, 1, 16), 323: (3, 1, 16), 324: (4, 1, 8), 325: (4, 1, 12)],
        "tile 0 holds 12 bytes; its 16 rows of 16 pixels need 256"
      ),
    ] as [([Int: (type: Int, count: Int, value: Int)?], String)])
  func hostileTagsAreRefused(change: [Int: (type: Int, count: Int, value: Int)?], message: String) {
    let error = refusal { _ = try TIFF.read(craftedTIFF(change: change), file: "c.tif") }
    #expect(error?.contains(message) == true, "\(error ?? "no error")")
  }

  @Test func damagedHeadersAreRefused() {
    var file = craftedTIFF()
    file[4] = 0xFF  // directory offset past the end
    #expect(refusal { _ = try TIFF.read(file, file: "c.tif") }?.contains("directory's offset") == true)
    file = craftedTIFF()
    file[20] = 0xFF  // entry count 255 at the directory (offset 8 + 12)
    #expect(refusal { _ = try TIFF.read(file, file: "c.tif") }?.contains("entries run past the end") == true)
    #expect(
      refusal { _ = try TIFF.read([0x49, 0x49, 42], file: "c.tif") }
        == "c.tif: not a TIFF file (it does not start with II or MM)")
    #expect(
      refusal { _ = try TIFF.read([0x49, 0x49, 41, 0, 8, 0, 0, 0], file: "c.tif") }
        == "c.tif: not a TIFF file (version 41, expected 42)")
  }

  /// Every prefix of a real file, and seeded random byte changes, either read or throw: never a trap.
  @Test func truncatedAndCorruptedFilesNeverTrap() throws {
    for name in ["grey16-be-5x7-strips.tif", "rgb8-be-17x18-tiles.tif"] {
      let bytes = try fixture(name)
      for length in 0..<bytes.count {
        let prefix = Array(bytes.prefix(length))
        #expect(refusal { _ = try TIFF.read(prefix, file: name) } != nil)
      }
      var state: UInt64 = 0x9E37_79B9_7F4A_7C15
      for _ in 0..<2000 {
        var corrupted = bytes
        for _ in 0..<3 {
          state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
          // Mostly the header and directory (where the offsets are), sometimes anywhere.
          let span = state >> 62 == 0 ? bytes.count : min(bytes.count, 400)
          corrupted[Int((state >> 24) % UInt64(span))] = UInt8(truncatingIfNeeded: state >> 8)
        }
        _ = refusal { _ = try TIFF.read(corrupted, file: name) }
      }
    }
  }

  @Test func decodedAsImagesWithColourAndDepthConversions() throws {
    let rgb = try fixture("rgb8-le-6x4-strips.tif")
    let colour = try ImageDecoder.decode(rgb, channels: 3, file: "rgb.tif")
    #expect(colour.pixels == pattern(height: 6, width: 4, channels: 3, bits: 8).map { UInt8($0) })
    let grey = try ImageDecoder.decode(rgb, channels: 1, file: "rgb.tif")
    let expected = stride(from: 0, to: colour.pixels.count, by: 3).map { index in
      let (r, g, b) = (Double(colour.pixels[index]), Double(colour.pixels[index + 1]), Double(colour.pixels[index + 2]))
      return UInt8((0.299 * r + 0.587 * g + 0.114 * b).rounded())
    }
    #expect(zip(grey.pixels, expected).allSatisfy { abs(Int($0) - Int($1)) <= 1 })
    let deep = try fixture("grey16-be-5x7-strips.tif")
    let samples = pattern(height: 5, width: 7, channels: 1, bits: 16)
    let full = try ImageDecoder.decode(deep, channels: 3, file: "deep.tif")
    #expect(full.channels == 3 && full.pixels.count == 105)
    #expect(full.pixels[0..<6] == [0, 0, 0, 1, 1, 1])  // 0 and 257 of 65535, repeated into R, G, B
    let stretched = try ImageDecoder.decode(deep, channels: 1, file: "deep.tif", sixteenBit: .max)
    let top = Double(samples.max()!)
    #expect(stretched.pixels == samples.map { UInt8((Double($0) * 255 / top).rounded()) })
  }

  @Test func masksReadAsStoredValues() throws {
    let tiff = try ImageDecoder.decodeLabels(fixture("grey16-be-5x7-strips.tif"), file: "m.tif")
    #expect(tiff.values == pattern(height: 5, width: 7, channels: 1, bits: 16))
    // A gAMA chunk of 1.0 changes nothing: class numbers are not light.
    let grey8 = Fixture.base64(
      "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAAAAAC4HznGAAAABGdBTUEAAYagMeiWXwAAABBJREFUeJxjYGBkYvjPzgwAAyYBDSbBJYMAAAAASUVORK5CYII="
    )
    let labels = try ImageDecoder.decodeLabels(grey8, file: "m.png")
    #expect([labels.width, labels.height] == [3, 2] && labels.values == [0, 1, 2, 255, 7, 3])
    let grey16 = Fixture.base64(
      "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACEAAAAAAHTY67AAAAEklEQVR4nGNgYGDUYfj/n4ERAAgTAi3DjusFAAAAAElFTkSuQmCC")
    #expect(try ImageDecoder.decodeLabels(grey16, file: "m.png").values == [0, 300, 65535, 1])
    // A palette mask gives its indices (2 bits each here), not its colours.
    let palette = Fixture.base64(
      "iVBORw0KGgoAAAANSUhEUgAAAAQAAAABAgMAAACEUudeAAAADFBMVEUAAAD/AAAA/wAAAP+bwBPcAAAACklEQVR4nGOQBgAAHQAcjvT1IQAAAABJRU5ErkJggg=="
    )
    #expect(try ImageDecoder.decodeLabels(palette, file: "m.png").values == [0, 1, 2, 3])
    let rgb = Fixture.base64(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgZGIGAAAOAAfXb+R4AAAAAElFTkSuQmCC")
    #expect(
      refusal { _ = try ImageDecoder.decodeLabels(rgb, file: "m.png") }?.contains("must be grey or palette") == true)
    #expect(
      refusal { _ = try ImageDecoder.decodeLabels(Fixture.greyJPEG, file: "m.jpg") }?.contains("cannot be JPEG") == true
    )
    #expect(
      refusal { _ = try ImageDecoder.decodeLabels(try fixture("rgb16-be-3x5.tif"), file: "m.tif") }?
        .contains("one sample per pixel") == true)
    for png in [grey16, palette] {
      for length in 8..<png.count - 12 {  // every cut before the IEND chunk
        let cut = Array(png.prefix(length))
        #expect(
          refusal { _ = try ImageDecoder.decodeLabels(cut, file: "m.png") }?.hasPrefix("m.png: damaged PNG: ") == true)
      }
    }
  }

  @Test func classFoldersHoldTIFFToo() throws {
    let scratch = Scratch()
    scratch.write("set/a/x.TIF", try fixture("grey8-le-5x7.tif"))
    scratch.write("set/b/y.tiff", try fixture("grey8-le-5x7.tif"))
    let dataset = try Dataset.fromImageFolder(path: scratch.path + "/set")
    #expect(dataset.labels == [0, 1] && [dataset.channels, dataset.height, dataset.width] as [Int] == [1, 5, 7])
    guard case .u8(let pixels) = dataset.images else {
      Issue.record("bytes expected")
      return
    }
    #expect(Array(pixels[0..<3]) == [0, 7, 14])  // row 0: 7 * column
  }
}
