// PNG and JPEG decoding, image folders, and broken images.

import Importers
import Testing

@Suite struct ImageTests {
  @Test func greyPNGDecodesExactly() throws {
    #expect(try ImageDecoder.header(Fixture.greyPNG, file: "g.png") == (2, 2, 1))
    let image = try ImageDecoder.decode(Fixture.greyPNG, channels: 1, file: "g.png")
    #expect(image.pixels == [0, 64, 128, 255])
    let rgb = try ImageDecoder.decode(Fixture.greyPNG, channels: 3, file: "g.png")
    #expect(rgb.planar == [0, 64, 128, 255, 0, 64, 128, 255, 0, 64, 128, 255])
  }

  @Test func greyJPEGDecodesWithinOneLevel() throws {
    let image = try ImageDecoder.decode(Fixture.greyJPEG, channels: 1, file: "g.jpg")
    #expect(image.width == 2 && image.height == 2)
    for (got, want) in zip(image.pixels, [0, 64, 128, 255]) { #expect(abs(Int(got) - want) <= 1) }
  }

  @Test func colourImagesArePlanarRGB() throws {
    #expect(try ImageDecoder.header(Fixture.colourPNG, file: "c.png") == (2, 1, 3))
    let png = try ImageDecoder.decode(Fixture.colourPNG, channels: 3, file: "c.png")
    #expect(png.planar == [255, 0, 0, 0, 0, 255])  // R plane, G plane, B plane of red then blue
    let jpeg = try ImageDecoder.decode(Fixture.colourJPEG, channels: 3, file: "c.jpg")
    let planar = jpeg.planar
    #expect(planar[0] > 200 && planar[1] < 60 && planar[4] < 60 && planar[5] > 200)
  }

  @Test func folderOfClasses() throws {
    let scratch = Scratch()
    scratch.write("set/b-shoe/1.png", Fixture.greyPNG)
    scratch.write("set/b-shoe/0.JPG", Fixture.greyJPEG)
    scratch.write("set/a-bag/x.png", Fixture.greyPNG)
    scratch.write("set/a-bag/notes.txt", Array("skip me".utf8))
    scratch.write("set/.hidden/y.png", Fixture.greyPNG)
    let dataset = try Dataset.fromImageFolder(path: scratch.path + "/set")
    #expect(dataset.classes == ["a-bag", "b-shoe"])
    #expect(dataset.labels == [0, 1, 1])
    #expect(dataset.channels == 1)
    guard case .u8(let pixels) = dataset.images else {
      Issue.record("bytes expected")
      return
    }
    #expect(Array(pixels[0..<4]) == [0, 64, 128, 255])
  }

  @Test func colourAnywhereMakesTheFolderRGB() throws {
    let scratch = Scratch()
    scratch.write("set/a/g.png", Fixture.greyPNG)
    scratch.write("set/b/c.png", Fixture.colourPNG)
    let dataset = try Dataset.fromImageFolder(path: scratch.path + "/set", resize: (2, 2, .area))
    #expect(dataset.channels == 3)
    #expect([dataset.height, dataset.width] == [2, 2])
    guard case .u8(let pixels) = dataset.images else {
      Issue.record("bytes expected")
      return
    }
    #expect(Array(pixels[12..<16]) == [255, 0, 255, 0])  // red plane of the red|blue image, two rows
  }

  @Test func mixedSizesNeedAResize() throws {
    let scratch = Scratch()
    scratch.write("set/a/g.png", Fixture.greyPNG)
    let wide = scratch.write("set/a/h.png", Fixture.colourPNG)
    #expect(throws: ImportError(.invalidDataset, wide, "image is 2x1, the first was 2x2: give a resize")) {
      try Dataset.fromImageFolder(path: scratch.path + "/set", channels: 1)
    }
  }

  @Test func truncatedPNG() {
    let error = #expect(throws: ImportError.self) {
      try ImageDecoder.decode(Array(Fixture.greyPNG.prefix(40)), channels: 1, file: "t.png")
    }
    #expect(error?.kind == .malformed)
  }

  @Test func truncatedJPEGHeader() {
    let error = #expect(throws: ImportError.self) {
      try ImageDecoder.decode(Array(Fixture.greyJPEG.prefix(30)), channels: 1, file: "t.jpg")
    }
    #expect(error?.kind == .malformed)
  }

  @Test func notAnImage() {
    #expect(throws: ImportError(.unrecognised, "x.png", "not a PNG, JPEG or TIFF image")) {
      try ImageDecoder.decode(Array("GIF89a".utf8), channels: 1, file: "x.png")
    }
  }

  @Test func emptyClassFolder() throws {
    let scratch = Scratch()
    scratch.write("set/a/g.png", Fixture.greyPNG)
    scratch.write("set/b/readme.txt", Array("no images".utf8))
    #expect(
      throws: ImportError(.invalidDataset, scratch.path + "/set/b", "class folder holds no PNG, JPEG or TIFF images")
    ) {
      try Dataset.fromImageFolder(path: scratch.path + "/set")
    }
  }

  @Test func imagesOutsideClassFolders() throws {
    let scratch = Scratch()
    scratch.write("set/a/g.png", Fixture.greyPNG)
    let loose = scratch.write("set/loose.png", Fixture.greyPNG)
    #expect(throws: ImportError(.invalidDataset, loose, "images must be inside one sub-folder per class")) {
      try Dataset.fromImageFolder(path: scratch.path + "/set")
    }
  }

  @Test func notAFolder() {
    #expect(throws: ImportError(.io, "/nonexistent/kswap", "not a folder")) {
      try Dataset.fromImageFolder(path: "/nonexistent/kswap")
    }
  }
}
