// Segmentation datasets: their checks, tiles, nearest-neighbour masks, splits, the file round trip, and
// image + mask pairs imported from folders and TIFF files.

import Foundation
import Importers
import TensorFile
import Testing

/// `count` grey images of height x width whose pixel (row, column) of image i is step i + 10 row + column,
/// with masks holding the same number modulo `classes`.
private func numbered(count: Int, height: Int, width: Int, classes: Int, step: Int = 100) throws -> SegmentationDataset
{
  var pixels: [UInt8] = []
  for image in 0..<count {
    for row in 0..<height { for column in 0..<width { pixels.append(UInt8(step * image + 10 * row + column)) } }
  }
  return try SegmentationDataset(
    images: .u8(pixels), channels: 1, height: height, width: width,
    masks: pixels.map { $0 % UInt8(classes) }, file: "s")
}

private func bytes(_ pixels: Dataset.Pixels) -> [UInt8] {
  if case .u8(let values) = pixels { return values }
  return []
}

private func refusal(_ body: () throws -> Void) -> String? {
  do {
    try body()
    return nil
  } catch {
    return "\(error)"
  }
}

@Suite struct SegmentationTests {
  @Test func masksNameClassesOrAreIgnored() throws {
    let dataset = try SegmentationDataset(
      images: .u8([1, 2, 3, 4]), channels: 1, height: 2, width: 2, masks: [0, 255, 2, 0], file: "s")
    #expect(dataset.classes == ["0", "1", "2"])  // numbered up to the largest value; 255 is no class
    #expect(dataset.count == 1)
    #expect(
      refusal {
        _ = try SegmentationDataset(
          images: .u8([1, 2, 3, 4]), channels: 1, height: 2, width: 2, masks: [0, 1, 2, 0],
          classes: ["background", "cell"], file: "s")
      } == "s: mask value 2 (image 0, row 1, column 0) has no class (2 classes; 255 is ignore)")
    #expect(
      refusal {
        _ = try SegmentationDataset(
          images: .u8([1, 2, 3]), channels: 1, height: 2, width: 2, masks: [0, 1, 2, 0], file: "s")
      }?.contains("do not make images of 1x2x2") == true)
    #expect(
      refusal {
        _ = try SegmentationDataset(
          images: .u8([1]), channels: 1, height: 1, width: 1, masks: [0],
          classes: (0..<256).map { String($0) }, file: "s")
      } == "s: 256 classes: a segmentation dataset names at most 255 (mask value 255 is ignore)")
  }

  @Test func tilesCoverTheImageFromTheTopLeftAndDropTheEdges() throws {
    let dataset = try numbered(count: 2, height: 5, width: 7, classes: 3)
    let tiles = try dataset.tiled(height: 2, width: 3, file: "s")
    // 2 x 2 tiles per image (row 4 and column 6 dropped), image by image, row by row.
    #expect(tiles.count == 8 && tiles.height == 2 && tiles.width == 3)
    #expect(bytes(tiles.images)[0..<6] == [0, 1, 2, 10, 11, 12])
    #expect(bytes(tiles.images)[6..<12] == [3, 4, 5, 13, 14, 15])
    #expect(bytes(tiles.images)[18..<24] == [23, 24, 25, 33, 34, 35])
    #expect(bytes(tiles.images)[24..<30] == [100, 101, 102, 110, 111, 112])
    #expect(tiles.masks == bytes(tiles.images).map { $0 % 3 })
    #expect(
      refusal { _ = try dataset.tiled(height: 6, width: 2, file: "s") } == "s: tiles of 6x2 do not fit images of 5x7")
  }

  @Test func colourTilesKeepTheirPlanes() throws {
    let pixels: [UInt8] = (0..<2).flatMap { plane in (0..<8).map { UInt8(plane * 100 + $0) } }  // (1, 2, 2, 4)
    let dataset = try SegmentationDataset(
      images: .u8(pixels), channels: 2, height: 2, width: 4, masks: [UInt8](repeating: 0, count: 8), file: "s")
    let tiles = try dataset.tiled(height: 2, width: 2, file: "s")
    #expect(bytes(tiles.images) == [0, 1, 4, 5, 100, 101, 104, 105, 2, 3, 6, 7, 102, 103, 106, 107])
  }

  @Test func masksResizeByNearestNeighbour() throws {
    let dataset = try numbered(count: 1, height: 4, width: 4, classes: 250)
    let small = try dataset.resized(height: 2, width: 2, method: .area, file: "s")
    #expect(small.masks == [0, 2, 20, 22])  // rows and columns 0 and 2
    #expect(bytes(small.images) == [6, 8, 26, 28])  // area averages (rounded half away from zero)
    let large = try dataset.resized(height: 8, width: 6, method: .bilinear, file: "s")
    let columns = (0..<6).map { $0 * 4 / 6 }
    #expect(Array(large.masks[0..<6]) == columns.map { UInt8($0) })
    #expect(Array(large.masks[42..<48]) == columns.map { UInt8(30 + $0) })
  }

  @Test func splitsAreDisjointSeededAndKeepOrder() throws {
    let dataset = try numbered(count: 10, height: 1, width: 2, classes: 2, step: 20)
    let parts = try dataset.splitting(testFraction: 0.3, seed: 4, file: "s")
    #expect(parts.test.count == 3 && parts.train.count == 7)
    let firsts = { (part: SegmentationDataset) in
      stride(from: 0, to: part.count * 2, by: 2).map { bytes(part.images)[$0] }
    }
    #expect(Set(firsts(parts.test)).isDisjoint(with: firsts(parts.train)))
    #expect(firsts(parts.test) == firsts(parts.test).sorted())
    #expect(parts.test.masks == bytes(parts.test.images).map { $0 % 2 })
    #expect(try dataset.splitting(testFraction: 0.3, seed: 4, file: "s").test == parts.test)
    #expect(try dataset.splitting(testFraction: 0.3, seed: 5, file: "s").test != parts.test)
    #expect(try dataset.sampling(fraction: 0.25, seed: 1, method: .random, file: "s").count == 2)
    #expect(try dataset.sampling(fraction: 0.25, seed: 1, file: "s").count == 3)  // round(2.5), half away from zero
  }

  @Test func roundTripThroughAFile() throws {
    let scratch = Scratch()
    var dataset = try SegmentationDataset(
      images: .f32([0, 0.25, 0.5, 1]), channels: 1, height: 1, width: 2, masks: [0, 255, 3, 1],
      classes: ["background", nil, nil, "cell"], source: "here", split: "test", file: "s")
    dataset.setStatisticsIfMissing()
    let path = scratch.path + "/s.kst"
    let tensors = try dataset.tensors(extra: ["note": "x"], file: path)
    let writer = try TensorWriter(path: path, format: .compressed, metadata: tensors.metadata, tensors: tensors.tensors)
    try tensors.write(to: writer, file: path)
    try writer.finish()
    let reader = try TensorReader(path: path)
    #expect(reader.metadata["task"] == "segmentation" && reader.metadata["dataset"] == "1")
    #expect(reader.metadata["note"] == "x")
    #expect(reader.info("masks")?.dtype == .u8 && reader.info("masks")?.shape == [2, 1, 2])
    #expect(try SegmentationDataset(reader: reader) == dataset)
    #expect(
      refusal { _ = try Dataset(reader: TensorReader(path: path)) }
        == "\(path): not a dataset: it needs tensors \"images\" and \"labels\"")
  }

  @Test func foldersPairImagesAndMasksByBaseName() throws {
    let scratch = Scratch()
    let tiff = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Fixtures/tiff")
    let image16 = [UInt8](try Data(contentsOf: tiff.appendingPathComponent("nuclei-image.tif")))
    let mask16 = [UInt8](try Data(contentsOf: tiff.appendingPathComponent("nuclei-mask.tif")))
    scratch.write("set/images/b.tif", image16)
    scratch.write("set/masks/b.tif", mask16)
    scratch.write("set/images/a.tif", image16)
    scratch.write("set/masks/a.tiff", mask16)
    scratch.write("set/images/notes.txt", Array("skip".utf8))
    var options = SegmentationImportOptions()
    options.maskValues = .instances
    options.tile = (20, 24)
    options.sixteenBit = .max
    let dataset = try SegmentationDataset.fromFolder(path: scratch.path + "/set", options: options)
    #expect(dataset.count == 8 && dataset.classes == ["0", "1"] && dataset.channels == 1)
    // Instance ids (1, 2 and 300) are one class; the image is stretched by its largest value.
    let labels = try ImageDecoder.decodeLabels(mask16, file: "m")
    #expect(Array(dataset.masks[0..<24]) == labels.values[0..<24].map { $0 == 0 ? 0 : 1 })
    let image = try TIFF.read(image16, file: "i")
    let top = Double(image.samples.max()!)
    #expect(
      bytes(dataset.images)[0..<24] == image.samples[0..<24].map { UInt8((Double($0) * 255 / top).rounded()) }[...])

    // Class numbers as they are: 300 has no class.
    options.maskValues = .classes
    #expect(
      refusal { _ = try SegmentationDataset.fromFolder(path: scratch.path + "/set", options: options) }?
        .hasPrefix("\(scratch.path)/set/masks/a.tiff: mask value 300 at row ") == true)
    options.maskValues = .instances
    scratch.write("set/masks/c.png", Fixture.greyPNG)
    #expect(
      refusal { _ = try SegmentationDataset.fromFolder(path: scratch.path + "/set", options: options) }
        == "\(scratch.path)/set/masks/c.png: no image of the same base name in \(scratch.path)/set/images")
    scratch.write("set/images/c.png", Fixture.colourPNG)
    #expect(
      refusal { _ = try SegmentationDataset.fromFolder(path: scratch.path + "/set", options: options) }
        == "\(scratch.path)/set/masks/c.png: mask is 2x2, its image \(scratch.path)/set/images/c.png is 2x1")
    scratch.write("set/images/c.jpg", Fixture.greyJPEG)
    #expect(
      refusal { _ = try SegmentationDataset.fromFolder(path: scratch.path + "/set", options: options) }
        == "\(scratch.path)/set/images/c.png: c.jpg has the same base name \"c\"; pairs need one each")
    #expect(SegmentationDataset.isPairFolder(scratch.path + "/set"))
    scratch.write("set/other/x.png", Fixture.greyPNG)
    #expect(!SegmentationDataset.isPairFolder(scratch.path + "/set"))
  }

  @Test func anImageWithoutItsMaskIsRefused() throws {
    let scratch = Scratch()
    scratch.write("set/images/a.png", Fixture.greyPNG)
    scratch.write("set/images/b.png", Fixture.greyPNG)
    scratch.write("set/masks/a.png", Fixture.greyPNG)
    #expect(
      refusal { _ = try SegmentationDataset.fromFolder(path: scratch.path + "/set", options: .init()) }
        == "\(scratch.path)/set/images/b.png: no mask of the same base name in \(scratch.path)/set/masks")
    scratch.write("set/masks/b.png", Fixture.greyPNG)
    // greyPNG's values 0, 64, 128, 255: classes 0 to 128 numbered, 255 ignored.
    let dataset = try SegmentationDataset.fromFolder(path: scratch.path + "/set", options: .init())
    #expect(dataset.classes.count == 129 && dataset.masks == [0, 64, 128, 255, 0, 64, 128, 255])
  }
}
