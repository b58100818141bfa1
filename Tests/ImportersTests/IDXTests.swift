// IDX parsing: plain and gzip, element types, and each malformed header on its own.

import Importers
import Testing

@Suite struct IDXTests {
  @Test func plainAndGzipReadTheSame() throws {
    let scratch = Scratch()
    let plain = try IDXArray(path: scratch.write("a-idx3-ubyte", Fixture.idxImages))
    let gzip = try IDXArray(path: scratch.write("a-idx3-ubyte.gz", Fixture.idxImagesGzip))
    #expect(plain == gzip)
    #expect(plain.elementType == .u8)
    #expect(plain.dims == [2, 2, 3])
    #expect(plain.payload == (0..<12).map { UInt8($0) })
  }

  @Test func datasetFromImagesAndLabels() throws {
    let scratch = Scratch()
    let dataset = try Dataset.fromIDX(
      images: scratch.write("i.gz", Fixture.idxImagesGzip),
      labels: scratch.write("l", Fixture.idxLabels))
    #expect(dataset.count == 2)
    #expect([dataset.channels, dataset.height, dataset.width] == [1, 2, 3])
    #expect(dataset.labels == [7, 1])
    #expect(dataset.classes == (0...7).map { String($0) })
    #expect(dataset.images == .u8((0..<12).map { UInt8($0) }))
  }

  @Test func bigEndianElementTypes() throws {
    let shorts = try IDXArray(bytes: [0, 0, 0x0B, 1, 0, 0, 0, 2, 0xFF, 0xFE, 0x01, 0x00], file: "s")
    #expect(try shorts.integers(file: "s") == [-2, 256])
    let ints = try IDXArray(bytes: [0, 0, 0x0C, 1, 0, 0, 0, 1, 0x80, 0, 0, 0], file: "i")
    #expect(try ints.integers(file: "i") == [Int64(Int32.min)])
    let floats = try IDXArray(bytes: [0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3F, 0xC0, 0, 0], file: "f")
    #expect(try floats.floats(file: "f") == [1.5])
    let doubles = try IDXArray(bytes: [0, 0, 0x0E, 1, 0, 0, 0, 1, 0xC0, 0x04, 0, 0, 0, 0, 0, 0], file: "d")
    #expect(try doubles.floats(file: "d") == [-2.5])
    #expect(throws: ImportError(.invalidDataset, "f", "IDX elements are f32, not integers")) {
      try floats.integers(file: "f")
    }
  }

  @Test func tooShortForMagic() {
    #expect(throws: ImportError(.unrecognised, "x", "not an IDX file: 3 bytes, shorter than the 4-byte magic")) {
      try IDXArray(bytes: [0, 0, 8], file: "x")
    }
  }

  @Test func badMagic() {
    #expect(throws: ImportError(.unrecognised, "x", "not an IDX file: the magic does not start with two zero bytes")) {
      try IDXArray(bytes: [1, 0, 8, 1, 0, 0, 0, 0], file: "x")
    }
  }

  @Test func unknownElementType() {
    #expect(throws: ImportError(.unsupported, "x", "IDX element type 0x7 is unknown")) {
      try IDXArray(bytes: [0, 0, 7, 1, 0, 0, 0, 0], file: "x")
    }
  }

  @Test func truncatedHeader() {
    #expect(throws: ImportError(.truncated, "x", "IDX header with 3 dimensions needs 16 bytes, the file has 8")) {
      try IDXArray(bytes: [0, 0, 8, 3, 0, 0, 0, 1], file: "x")
    }
  }

  @Test func hugeDimensionsAreRefusedBeforeAllocating() {
    let header: [UInt8] = [0, 0, 0x0E, 3] + [UInt8](repeating: 0xFF, count: 12)
    let error = #expect(throws: ImportError.self) { try IDXArray(bytes: header, file: "x") }
    #expect(error?.kind == .limitExceeded)
    #expect(
      throws: ImportError(
        .truncated, "x", "IDX data truncated: dimensions [4294967295] need 4294967295 bytes of u8, found 0")
    ) {
      try IDXArray(bytes: [0, 0, 8, 1, 0xFF, 0xFF, 0xFF, 0xFF], file: "x")
    }
  }

  @Test func trailingBytes() {
    #expect(
      throws: ImportError(.trailingData, "x", "IDX data has trailing bytes: dimensions [1] need 1 bytes of u8, found 2")
    ) {
      try IDXArray(bytes: [0, 0, 8, 1, 0, 0, 0, 1, 5, 6], file: "x")
    }
  }

  @Test func damagedGzip() {
    let scratch = Scratch()
    var bytes = Fixture.idxImagesGzip
    bytes.removeLast(12)
    let path = scratch.write("cut.gz", bytes)
    let error = #expect(throws: ImportError.self) { try IDXArray(path: path) }
    #expect(error?.kind == .malformed)
    let missing = #expect(throws: ImportError.self) { try IDXArray(path: scratch.path + "/missing.gz") }
    #expect(missing?.kind == .io)
  }

  @Test func labelCountMustMatch() {
    let scratch = Scratch()
    let images = scratch.write("i", Fixture.idxImages)
    let labels = scratch.write("l", [0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 2])
    #expect(throws: ImportError(.invalidDataset, labels, "3 labels for 2 images in \(images)")) {
      try Dataset.fromIDX(images: images, labels: labels)
    }
  }

  @Test func imagesNeedThreeOrFourDimensions() {
    let scratch = Scratch()
    let images = scratch.write("i", Fixture.idxLabels)
    let labels = scratch.write("l", Fixture.idxLabels)
    #expect(throws: ImportError(.invalidDataset, images, "IDX images must be (N, H, W) or (N, C, H, W), found [2]")) {
      try Dataset.fromIDX(images: images, labels: labels)
    }
  }
}
