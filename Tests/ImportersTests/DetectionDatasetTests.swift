// Detection datasets in the importers (Formats/dataset.md, "Detection datasets", "Scenes", "COCO
// files"): what the layout refuses, the operations that keep each image's boxes with it, scenes whose
// boxes are the visible objects' extents, and COCO files both ways.

import Foundation
import TensorFile
import Testing

@testable import Importers

@Suite struct DetectionDatasetTests {
  /// Three 1x4x6 grey images: two boxes, none, one; classes cat, (unnamed), dog.
  func dataset(
    boxes: [Float] = [0, 0, 6, 4, 1.5, 0.5, 3, 2, 2, 1, 5, 3.25], labels: [Int64] = [2, 0, 2],
    offsets: [Int] = [0, 2, 2, 3]
  ) throws -> DetectionDataset {
    try DetectionDataset(
      images: .u8((0..<72).map { UInt8($0) }), channels: 1, height: 4, width: 6, boxes: boxes, boxLabels: labels,
      boxOffsets: offsets, classes: ["cat", nil, "dog"], file: "d")
  }

  @Test func theLayoutRefusesBoxesThatAreNoBoxesOfTheirImage() throws {
    #expect(
      throws: ImportError(.invalidDataset, "d", "box_offsets starts at 1; the first image's boxes start at row 0")
    ) {
      try dataset(offsets: [1, 2, 2, 3])
    }
    #expect(throws: ImportError(.invalidDataset, "d", "box_offsets ends at 2; there are 3 boxes")) {
      try dataset(offsets: [0, 2, 2, 2])
    }
    #expect(
      throws: ImportError(
        .invalidDataset, "d", "box 2 (image 2, x0 y0 x1 y1 = 2.0 1.0 5.0 4.25) is not inside its 6x4 image")
    ) { try dataset(boxes: [0, 0, 6, 4, 1.5, 0.5, 3, 2, 2, 1, 5, 4.25]) }
    #expect(
      throws: ImportError(
        .invalidDataset, "d",
        "box 0 (image 0, x0 y0 x1 y1 = 0.0 0.0 6.0 4.0) has label 3; the file names 3 classes (0 to 2)")
    ) { try dataset(labels: [3, 0, 2]) }
    #expect(throws: ImportError(.limitExceeded, "d", "box label 65536 is too large (labels are below 65536)")) {
      try dataset(labels: [1 << 16, 0, 2])
    }
    #expect(throws: ImportError(.invalidDataset, "d", "8 box coordinates for 3 box labels (4 each)")) {
      try dataset(boxes: [0, 0, 1, 1, 0, 0, 1, 1])
    }
    #expect(throws: ImportError(.invalidDataset, "d", "72 pixel values do not make 4 images of 1x4x6")) {
      try dataset(offsets: [0, 2, 2, 3, 3])
    }
  }

  @Test func operationsKeepEachImagesBoxesWithIt() throws {
    let data = try dataset()
    let picked = data.selecting([2, 1, 0])
    #expect(picked.boxLabels == [2, 2, 0] && picked.boxOffsets == [0, 1, 1, 3])
    #expect(picked.boxes == [2, 1, 5, 3.25, 0, 0, 6, 4, 1.5, 0.5, 3, 2])
    guard case .u8(let pixels) = picked.images else { return }
    #expect(pixels.prefix(3) == [48, 49, 50])
    let (train, test) = try data.splitting(testFraction: 1.0 / 3, seed: 4, file: "d")
    #expect(train.count == 2 && test.count == 1 && train.boxCount + test.boxCount == 3)
    // Resizing scales the boxes with the pixels: 6x4 to 3x8 halves x and doubles y.
    let resized = try data.resized(height: 8, width: 3, method: .area, file: "d")
    #expect(resized.boxes == [0, 0, 3, 8, 0.75, 1, 1.5, 4, 1, 2, 2.5, 6.5])
    // The tensors read back as they were written.
    let scratch = Scratch()
    let path = scratch.path + "/d.safetensors"
    let tensors = try data.tensors(file: path)
    let writer = try TensorWriter(
      path: path, format: .safetensors, metadata: tensors.metadata, tensors: tensors.tensors)
    try tensors.write(to: writer, file: path)
    try writer.finish()
    let read = try DetectionDataset(reader: TensorReader(path: path))
    #expect(read == data)
    #expect(read.classes == ["cat", nil, "dog"] && tensors.metadata["task"] == "detection")
  }

  /// Four 2x2 grey objects, classes p, q; object 3 (all 51) is never above the threshold.
  func objects() throws -> Dataset {
    try Dataset(
      images: .u8([255, 51, 52, 0, 0, 200, 100, 9, 52, 52, 52, 52, 51, 51, 51, 51]), channels: 1, height: 2,
      width: 2, labels: [0, 1, 0, 1], classes: ["p", "q"], file: "o")
  }

  @Test func detectionScenesAreTheSegmentationScenesWithBoxesOfTheVisiblePixels() throws {
    let settings = SceneSettings(count: 60, height: 5, width: 5, objects: 1...3, scale: 0.5...2, seed: 9)
    let segmentation = try objects().composingScenes(settings, file: "o")
    var detectionSettings = settings
    detectionSettings.firstLabel = 0
    let detection = try objects().composingDetectionScenes(detectionSettings, file: "o")
    #expect(detection.images == segmentation.images && detection.classes == ["p", "q"])
    let plane = 25
    var hidden = 0
    for scene in 0..<60 {
      let mask = segmentation.masks[(scene * plane)..<((scene + 1) * plane)].map { Int($0) }
      let rows = detection.boxRows(of: scene)
      // Each class's pixels lie in the union of its boxes, and each box's four edges touch a pixel of
      // its class: the box is an extent of visible pixels, nothing more.
      for label in 0..<2 {
        let mine = rows.filter { detection.boxLabels[$0] == Int64(label) }.map {
          Array(detection.boxes[(4 * $0)..<(4 * $0 + 4)]).map { Int($0) }
        }
        for pixel in 0..<plane where mask[pixel] == label + 1 {
          let (y, x) = pixel.quotientAndRemainder(dividingBy: 5)
          #expect(mine.contains { $0[0] <= x && x < $0[2] && $0[1] <= y && y < $0[3] }, "scene \(scene)")
        }
        for b in mine {
          func has(_ x: Int, _ y: Int) -> Bool { mask[y * 5 + x] == label + 1 }
          #expect((b[1]..<b[3]).contains { has(b[0], $0) } && (b[1]..<b[3]).contains { has(b[2] - 1, $0) })
          #expect((b[0]..<b[2]).contains { has($0, b[1]) } && (b[0]..<b[2]).contains { has($0, b[3] - 1) })
        }
      }
      if rows.isEmpty { hidden += 1 }
    }
    // Some scenes show nothing (object 3 alone pastes no pixel): no box, an image without objects.
    #expect(hidden > 0)
    // With one object at scale 1 the box is the object's pixels above the threshold, placed.
    let single = try objects().composingDetectionScenes(
      SceneSettings(count: 30, height: 3, width: 3, objects: 1...1, scale: 1...1, firstLabel: 5, seed: 2), file: "o")
    #expect(single.classes == [nil, nil, nil, nil, nil, "p", "q"])
    for scene in 0..<30 {
      for row in single.boxRows(of: scene) {
        let b = single.boxes[(4 * row)..<(4 * row + 4)]
        let size = (b[b.startIndex + 2] - b[b.startIndex], b[b.startIndex + 3] - b[b.startIndex + 1])
        // Object 0 shows its left column (255 and 52; 51 and 0 are not above 51), 1 wide and 2 high;
        // objects 1 and 2 span 2x2; object 3 shows nothing.
        #expect([(1, 2), (2, 2)].contains { $0 == (Int(size.0), Int(size.1)) })
      }
    }
  }

  @Test func cocoFilesRoundTrip() throws {
    let scratch = Scratch()
    let data = try dataset()
    let files = try data.cocoFiles(file: "out")
    #expect(files.map(\.name) == ["000001.png", "000002.png", "000003.png", "instances.json"])
    for (name, bytes) in files { scratch.write("coco/" + name, bytes) }
    let json = String(decoding: files[3].bytes, as: UTF8.self)
    #expect(
      json == #"{"images":[{"id":1,"file_name":"000001.png","width":6,"height":4},"#
        + #"{"id":2,"file_name":"000002.png","width":6,"height":4},"#
        + #"{"id":3,"file_name":"000003.png","width":6,"height":4}],"#
        + #""annotations":[{"id":1,"image_id":1,"category_id":2,"bbox":[0,0,6,4],"area":24,"iscrowd":0},"#
        + #"{"id":2,"image_id":1,"category_id":0,"bbox":[1.5,0.5,1.5,1.5],"area":2.25,"iscrowd":0},"#
        + #"{"id":3,"image_id":3,"category_id":2,"bbox":[2,1,3,2.25],"area":6.75,"iscrowd":0}],"#
        + #""categories":[{"id":0,"name":"cat"},{"id":2,"name":"dog"}]}"# + "\n")
    let (back, crowd) = try DetectionDataset.fromCOCO(
      annotations: files[3].bytes, file: "instances.json", folder: scratch.path + "/coco")
    #expect(crowd == 0 && back.boxes == data.boxes && back.boxLabels == data.boxLabels)
    #expect(back.boxOffsets == data.boxOffsets && back.images == data.images)
    #expect(back.classes == ["cat", nil, "dog"])
  }

  @Test func floatImagesExportAsRoundedBytes() throws {
    let data = try DetectionDataset(
      images: .f32([-0.5, 0.2, 1.5, 0.5]), channels: 1, height: 2, width: 2, boxes: [], boxLabels: [],
      boxOffsets: [0, 0], classes: ["a"], file: "f")
    let files = try data.cocoFiles(file: "out")
    #expect(files.map(\.name) == ["000001.png", "instances.json"])
    // round(255 * v), v clamped to [0, 1]: 0, 51, 255, 127.5 rounded away from zero.
    #expect(try ImageDecoder.decode(files[0].bytes, channels: 1, file: "p").pixels == [0, 51, 255, 128])
    #expect(
      String(decoding: files[1].bytes, as: UTF8.self)
        == #"{"images":[{"id":1,"file_name":"000001.png","width":2,"height":2}],"annotations":[],"#
        + #""categories":[{"id":0,"name":"a"}]}"# + "\n")
    let fourChannels = try DetectionDataset(
      images: .u8([UInt8](repeating: 0, count: 4)), channels: 4, height: 1, width: 1, boxes: [], boxLabels: [],
      boxOffsets: [0, 0], file: "f")
    #expect(throws: ImportError(.unsupported, "out", "images of 4 channels: PNG files hold 1 (grey) or 3 (RGB)")) {
      try fourChannels.cocoFiles(file: "out")
    }
  }

  @Test func cocoImportsTakeTheAnnotationsOfEachImage() throws {
    let scratch = Scratch()
    scratch.write("img/a.png", Fixture.greyPNG)
    scratch.write("img/b.jpg", Fixture.greyJPEG)
    func load(_ text: String, resize: (Int, Int, ResizeMethod)? = nil) throws -> (DetectionDataset, Int) {
      var options = COCOImportOptions()
      options.resize = resize
      return try DetectionDataset.fromCOCO(
        annotations: Array(text.utf8), file: "i.json", folder: scratch.path + "/img", options: options)
    }
    let text = """
      {"images": [{"id": 7, "file_name": "b.jpg", "width": 2, "height": 2}, {"id": 3, "file_name": "a.png"}],
       "categories": [{"id": 1, "name": "person"}, {"id": 4, "name": "kite"}],
       "annotations": [
         {"id": 1, "image_id": 3, "category_id": 4, "bbox": [0.5, 0, 1, 2], "iscrowd": 0},
         {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 2, 1]},
         {"id": 3, "image_id": 3, "category_id": 1, "bbox": [0, 0, 2, 2], "iscrowd": 1},
         {"id": 4, "image_id": 3, "category_id": 1, "bbox": [1, 1, 1, 1]}]}
      """
    let (data, crowd) = try load(text)
    #expect(crowd == 1 && data.count == 2 && data.classes == [nil, "person", nil, nil, "kite"])
    #expect(data.boxOffsets == [0, 1, 3] && data.boxLabels == [1, 4, 1])
    #expect(data.boxes == [0, 0, 2, 1, 0.5, 0, 1.5, 2, 1, 1, 2, 2])
    let (big, _) = try load(text, resize: (4, 8, .bilinear))
    #expect(big.boxes == [0, 0, 8, 2, 2, 0, 6, 4, 4, 2, 8, 4] && big.width == 8)
    func refusal(_ text: String) -> String {
      do {
        _ = try load(text)
        return "(no error)"
      } catch {
        return "\(error)"
      }
    }
    let images = #""images": [{"id": 3, "file_name": "a.png"}]"#
    let categories = #""categories": [{"id": 1, "name": "person"}]"#
    func with(_ annotation: String) -> String { "{\(images), \(categories), \"annotations\": [\(annotation)]}" }
    #expect(refusal("[]") == "i.json: not a COCO instances file: it needs an array \"categories\"")
    #expect(
      refusal(with(#"{"image_id": 4, "category_id": 1, "bbox": [0, 0, 1, 1]}"#))
        == "i.json: annotations[0]: image_id is not the id of an entry of \"images\"")
    #expect(
      refusal(with(#"{"id": 9, "image_id": 3, "category_id": 2, "bbox": [0, 0, 1, 1]}"#))
        == "i.json: annotations[0] (id 9): category_id is not the id of an entry of \"categories\"")
    #expect(
      refusal(with(#"{"image_id": 3, "category_id": 1, "bbox": [0, 0, 1, "1", 1]}"#))
        == "i.json: annotations[0]: bbox is not an array of 4 finite numbers [x, y, width, height]")
    #expect(
      refusal(with(#"{"image_id": 3, "category_id": 1, "bbox": [0, 0, 0, 1]}"#))
        == "i.json: annotations[0]: bbox [0.0, 0.0, 0.0, 1.0] has a width or height of 0 or less")
    #expect(
      refusal(with(#"{"image_id": 3, "category_id": 1, "bbox": [1, 0, 1.5, 1]}"#))
        == "i.json: a box of image id 3, bbox [1.0, 0.0, 1.5, 1.0], is not inside its 2x2 image")
    #expect(
      refusal(with(#"{"image_id": 3, "category_id": 1, "bbox": [0, 0, 1, 1], "iscrowd": 2}"#))
        == "i.json: annotations[0]: iscrowd is not 0 or 1")
    #expect(
      refusal(#"{\#(images), "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "a"}], "annotations": []}"#)
        == "i.json: categories[1]: the name \"a\" is taken twice (classes match by name)")
    #expect(
      refusal(
        #"{"images": [{"id": 3, "file_name": "a.png", "width": 3, "height": 2}], \#(categories), "annotations": []}"#)
        == "\(scratch.path)/img/a.png: image is 2x2; i.json says 3x2")
  }
}
