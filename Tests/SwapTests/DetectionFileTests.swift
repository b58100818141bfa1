// Detection datasets read for training and evaluation (Formats/dataset.md, "Detection datasets"):
// boxes per image from the offsets, classes matched to a model's by name, and every way a file can be
// wrong refused before training, naming it; a dataset of another task is refused both ways.

import Foundation
import TensorFile
import Testing

@testable import Swap

@Suite struct DetectionFileTests {
  /// Three 1x4x6 grey images: image 0 with two boxes, image 1 with none, image 2 with one.
  struct Contents {
    var images: (dtype: DType, shape: [Int], bytes: [UInt8]) = (.u8, [3, 1, 4, 6], [UInt8](repeating: 9, count: 72))
    var boxes: [Float] = [0, 0, 6, 4, 1.5, 0.5, 3, 2, 2, 1, 5, 3.25]
    var boxDType = DType.f32
    var labels: [Int64] = [2, 0, 2]
    var offsets: [Int64] = [0, 2, 2, 3]
    var metadata: [String: String] = ["dataset": "1", "task": "detection", "classes": #"["cat",null,"dog"]"#]
  }

  func write(_ contents: Contents, in directory: String, name: String = "set.safetensors") throws -> String {
    let path = directory + "/" + name
    func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { [UInt8]($0) } }
    try TensorWriter.write(
      path: path, metadata: contents.metadata,
      tensors: [
        (
          try TensorInfo(name: "images", dtype: contents.images.dtype, shape: contents.images.shape),
          contents.images.bytes
        ),
        (
          try TensorInfo(name: "boxes", dtype: contents.boxDType, shape: [contents.boxes.count / 4, 4]),
          contents.boxDType == .f32 ? bytes(contents.boxes) : bytes(contents.boxes.map(Double.init))
        ),
        (try TensorInfo(name: "box_labels", dtype: .i64, shape: [contents.labels.count]), bytes(contents.labels)),
        (try TensorInfo(name: "box_offsets", dtype: .i64, shape: [contents.offsets.count]), bytes(contents.offsets)),
      ])
    return path
  }

  func withDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let directory = NSTemporaryDirectory() + "kswap-detfile-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try body(directory)
  }

  /// The message of the SwapError that `body` throws.
  func refusal(_ body: () throws -> Void) -> String {
    do {
      try body()
      return "(no error)"
    } catch let error as SwapError {
      return error.description
    } catch {
      return "(\(error))"
    }
  }

  @Test func readsImagesAndEachImagesBoxes() throws {
    try withDirectory { directory in
      let path = try write(Contents(), in: directory)
      #expect(try DatasetFile.task(of: path) == .detection)
      let file = try DetectionFile(path: path, mean: [0], std: [1])
      #expect(file.classes == ["cat", "1", "dog"])
      #expect(file.presentLabels == [0, 2] && file.presentClasses == ["cat", "dog"])
      #expect(file.images.count == 3 && file.images.batchShape(2) == [2, 1, 4, 6])
      #expect(
        file.images.boxes == [
          [
            LabeledBox(box: Box(x0: 0, y0: 0, x1: 6, y1: 4), label: 2),
            LabeledBox(box: Box(x0: 1.5, y0: 0.5, x1: 3, y1: 2), label: 0),
          ],
          [],
          [LabeledBox(box: Box(x0: 2, y0: 1, x1: 5, y1: 3.25), label: 2)],
        ])
      #expect(file.images.batch([2]).scalars.allSatisfy { $0 == Float(9) / 255 })
      #expect(file.images.subset([2, 1]).boxes.map(\.count) == [1, 0])
      let joined = BoxedImages.joined([file.images, file.images.subset([0])])
      #expect(joined.count == 4 && joined.boxes == file.images.boxes + [file.images.boxes[0]])
      // Grey images for an RGB model are repeated; the boxes stay.
      let rgb = try DetectionFile(path: path, mean: [0, 0, 0], std: [1, 1, 1])
      #expect(rgb.images.channels == 3 && rgb.images.boxes == file.images.boxes)
    }
  }

  @Test func classesMatchTheModelsByName() throws {
    try withDirectory { directory in
      let file = try DetectionFile(path: try write(Contents(), in: directory))
      let model = ClassMap(names: ["bird", "dog", "cat"])
      #expect(try file.labeled(by: model).boxes.map { $0.map(\.label) } == [[1, 2], [], [1]])
      #expect(
        refusal { _ = try file.labeled(by: ClassMap(names: ["bird", "dog"])) }
          == "\(file.path): class 'cat' is not one of the model's 2 classes (bird, dog)")
      // A learn set: known classes keep their rows, new ones take unused rows, else new rows after.
      var map = ClassMap(names: ["dog", nil])
      #expect(try file.learning(into: &map).boxes.map { $0.map(\.label) } == [[0, 1], [], [0]])
      #expect(map.names == ["dog", "cat"])
      var full = ClassMap(names: ["dog", "bird"])
      _ = try file.learning(into: &full)
      #expect(full.names == ["dog", "bird", "cat"])
    }
  }

  @Test func eachTaskRefusesTheOthers() throws {
    try withDirectory { directory in
      let detection = try write(Contents(), in: directory)
      #expect(
        refusal { _ = try DatasetFile(path: detection) }
          == "\(detection): a detection dataset (metadata task 'detection', boxes per image); "
          + "a classification dataset (one label per image) is needed here")
      #expect(
        refusal { _ = try SegmentationFile(path: detection) }
          == "\(detection): a detection dataset (metadata task 'detection', boxes per image); "
          + "a segmentation dataset (metadata task 'segmentation', a class per pixel) is needed here")
      let labelled = directory + "/labels.safetensors"
      try TensorWriter.write(
        path: labelled, metadata: ["dataset": "1", "classes": #"["a"]"#],
        tensors: [
          (try TensorInfo(name: "images", dtype: .u8, shape: [1, 1, 2, 2]), [0, 0, 0, 0]),
          (try TensorInfo(name: "labels", dtype: .i64, shape: [1]), [UInt8](repeating: 0, count: 8)),
        ])
      #expect(
        refusal { _ = try DetectionFile(path: labelled) }
          == "\(labelled): a classification dataset (one label per image); a detection dataset "
          + "(metadata task 'detection', boxes per image) is needed here")
      var untagged = Contents()
      untagged.metadata["task"] = nil
      let boxesOnly = try write(untagged, in: directory, name: "untagged.safetensors")
      for read in [{ _ = try DatasetFile(path: boxesOnly) }, { _ = try DetectionFile(path: boxesOnly) }] {
        #expect(refusal(read) == "\(boxesOnly): not a dataset file: it has 'boxes' but no metadata task 'detection'")
      }
    }
  }

  @Test func everyInconsistencyIsRefusedNamingTheFile() throws {
    try withDirectory { directory in
      var cases: [(Contents, String)] = []
      func variant(_ change: (inout Contents) -> Void, _ message: String) {
        var contents = Contents()
        change(&contents)
        cases.append((contents, message))
      }
      variant({ $0.offsets = [1, 2, 2, 3] }, "box_offsets starts at 1; the first image's boxes start at row 0")
      variant({ $0.offsets = [0, 2, 1, 3] }, "box_offsets decreases after image 1 (2, then 1)")
      variant({ $0.offsets = [0, 2, 2, 2] }, "box_offsets ends at 2; there are 3 boxes")
      variant(
        { $0.boxes[5] = .nan }, "box 1 (image 0, x0 y0 x1 y1 = 1.5 nan 3.0 2.0) has a coordinate that is not a number")
      variant(
        { $0.boxes[10] = 2 }, "box 2 (image 2, x0 y0 x1 y1 = 2.0 1.0 2.0 3.25) has a width or height of 0 or less")
      variant(
        { $0.boxes[3] = -1 }, "box 0 (image 0, x0 y0 x1 y1 = 0.0 0.0 6.0 -1.0) has a width or height of 0 or less")
      variant(
        { $0.boxes[2] = 6.5 }, "box 0 (image 0, x0 y0 x1 y1 = 0.0 0.0 6.5 4.0) is not inside its 6x4 image")
      variant(
        { $0.boxes[4] = -0.5 }, "box 1 (image 0, x0 y0 x1 y1 = -0.5 0.5 3.0 2.0) is not inside its 6x4 image")
      variant(
        { $0.labels[2] = 3 },
        "box 2 (image 2, x0 y0 x1 y1 = 2.0 1.0 5.0 3.25) has label 3; the file names 3 classes (0 to 2)")
      variant(
        { $0.labels[0] = -1 },
        "box 0 (image 0, x0 y0 x1 y1 = 0.0 0.0 6.0 4.0) has label -1; the file names 3 classes (0 to 2)")
      variant(
        { $0.offsets = [0, 2, 3] },
        "tensor 'box_offsets' is I64 [3]; expected I64 (N + 1) = (4): where each image's boxes start, and the end")
      variant(
        { $0.boxDType = .f64 }, "tensor 'boxes' is F64 [3, 4]; expected F32 (M, 4): x0, y0, x1, y1 of every box")
      variant(
        { $0.metadata["classes"] = nil }, "metadata 'classes' is missing; a detection dataset names its classes")
      for (index, (contents, message)) in cases.enumerated() {
        let path = try write(contents, in: directory, name: "case\(index).safetensors")
        #expect(throws: SwapError(.invalidDataset, file: path, message)) { try DetectionFile(path: path) }
      }
    }
  }
}
