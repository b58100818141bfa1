// Segmentation datasets read for training (Formats/dataset.md, "Segmentation datasets"): every way a
// file can be wrong is refused naming it, a dataset of the other task is refused both ways, and mask
// values are matched to a model's classes by name with the ignore value kept.

import Foundation
import TensorFile
import Testing

@testable import Swap

@Suite struct SegmentationFileTests {
  /// Two 1x2x3 grey images (bytes 0...11) and their masks; `classes` nil leaves the key out.
  struct Contents {
    var images: (dtype: DType, shape: [Int], bytes: [UInt8]) = (.u8, [2, 1, 2, 3], (0..<12).map { UInt8($0 * 20) })
    var masks: (dtype: DType, shape: [Int], bytes: [UInt8])? = (
      .u8, [2, 2, 3], [0, 0, 2, 2, 255, 0, 0, 3, 3, 0, 0, 255]
    )
    var labels: [UInt8]?
    var metadata: [String: String] = [
      "dataset": "1", "task": "segmentation", "classes": #"["background","x","y","z"]"#,
    ]
  }

  func write(_ contents: Contents, in directory: String, name: String = "set.safetensors") throws -> String {
    let path = directory + "/" + name
    var tensors = [
      (
        info: try TensorInfo(name: "images", dtype: contents.images.dtype, shape: contents.images.shape),
        bytes: contents.images.bytes
      )
    ]
    if let masks = contents.masks {
      tensors.append((try TensorInfo(name: "masks", dtype: masks.dtype, shape: masks.shape), masks.bytes))
    }
    if let labels = contents.labels {
      tensors.append((try TensorInfo(name: "labels", dtype: .i64, shape: [labels.count / 8]), labels))
    }
    try TensorWriter.write(path: path, metadata: contents.metadata, tensors: tensors)
    return path
  }

  func withDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let directory = NSTemporaryDirectory() + "kswap-segfile-" + UUID().uuidString
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

  @Test func readsImagesMasksAndClasses() throws {
    try withDirectory { directory in
      let path = try write(Contents(), in: directory)
      #expect(try DatasetFile.task(of: path) == .segmentation)
      let file = try SegmentationFile(path: path, mean: [0.5], std: [0.5])
      #expect(file.classes == ["background", "x", "y", "z"])
      #expect(file.presentLabels == [0, 2, 3] && file.presentClasses == ["background", "y", "z"])
      #expect(file.images.count == 2 && file.images.height == 2 && file.images.width == 3)
      // The loss's targets: classes as they are, 255 for an ignored pixel, image 1 first here.
      #expect(file.images.maskBatch([1, 0]) == [0, 3, 3, 0, 0, 255, 0, 0, 2, 2, 255, 0])
      var targets = [UInt8](repeating: 7, count: 18)
      file.images.writeMasks([1], into: &targets, at: 2)
      #expect(Array(targets[..<12]) == [UInt8](repeating: 7, count: 12) && targets[12...] == [0, 3, 3, 0, 0, 255])
      // Bytes / 255, then (x - 0.5) / 0.5.
      #expect(file.images.batch([0]).scalars.first == -1)
      #expect(file.images.subset([1]).masks == [0, 3, 3, 0, 0, 255])
    }
  }

  @Test func greyImagesAreRepeatedForAnRGBModelAndTheMasksStay() throws {
    try withDirectory { directory in
      let file = try SegmentationFile(
        path: try write(Contents(), in: directory), mean: [0, 0, 0], std: [1, 1, 1])
      #expect(file.images.channels == 3 && file.images.masks.count == 12)
      #expect(Array(file.images.batch([0]).scalars[0..<6]) == Array(file.images.batch([0]).scalars[6..<12]))
    }
  }

  @Test func eachTaskRefusesTheOther() throws {
    try withDirectory { directory in
      let segmentation = try write(Contents(), in: directory)
      #expect(
        refusal { _ = try DatasetFile(path: segmentation) }
          == "\(segmentation): a segmentation dataset (metadata task 'segmentation', a class per pixel); "
          + "a classification dataset (one label per image) is needed here")
      var classification = Contents()
      classification.masks = nil
      classification.labels = [UInt8](repeating: 0, count: 16)
      classification.metadata["task"] = nil
      let labelled = try write(classification, in: directory, name: "labels.safetensors")
      #expect(try DatasetFile.task(of: labelled) == .classification)
      #expect(
        refusal { _ = try SegmentationFile(path: labelled) }
          == "\(labelled): a classification dataset (one label per image); a segmentation dataset "
          + "(metadata task 'segmentation', a class per pixel) is needed here")
      // Masks without the task key: the file says it is neither.
      var untagged = Contents()
      untagged.metadata["task"] = nil
      let masksOnly = try write(untagged, in: directory, name: "untagged.safetensors")
      #expect(
        refusal { _ = try DatasetFile(path: masksOnly) }
          == "\(masksOnly): not a dataset file: it has 'masks' but no metadata task 'segmentation'")
      #expect(
        refusal { _ = try SegmentationFile(path: masksOnly) }
          == "\(masksOnly): not a dataset file: it has 'masks' but no metadata task 'segmentation'")
      // "classification" written out is the same as no key.
      classification.metadata["task"] = "classification"
      let explicit = try write(classification, in: directory, name: "explicit.safetensors")
      #expect(try DatasetFile(path: explicit).images.labels == [0, 0])
    }
  }

  @Test func everyInconsistencyIsRefusedNamingTheFile() throws {
    try withDirectory { directory in
      var cases: [(Contents, String)] = []
      var unknownTask = Contents()
      unknownTask.metadata["task"] = "depth"
      cases.append(
        (unknownTask, "metadata 'task' is 'depth'; expected 'classification' or 'segmentation' or 'detection'"))
      var noMasks = Contents()
      noMasks.masks = nil
      noMasks.labels = [UInt8](repeating: 0, count: 16)
      cases.append((noMasks, "not a segmentation dataset file: it needs tensors 'images' (N, C, H, W) and 'masks'"))
      var both = Contents()
      both.labels = [UInt8](repeating: 0, count: 16)
      cases.append((both, "holds both 'labels' and 'masks'"))
      var wideMasks = Contents()
      wideMasks.masks = (.i64, [2, 2, 3], [UInt8](repeating: 0, count: 96))
      cases.append((wideMasks, "tensor 'masks' is I64; expected U8"))
      var otherSize = Contents()
      otherSize.masks = (.u8, [2, 3, 2], [UInt8](repeating: 0, count: 12))
      cases.append((otherSize, "tensor 'masks' has shape [2, 3, 2]; expected (2, 2, 3)"))
      var fewerMasks = Contents()
      fewerMasks.masks = (.u8, [1, 2, 3], [UInt8](repeating: 0, count: 6))
      cases.append((fewerMasks, "tensor 'masks' has shape [1, 2, 3]; expected (2, 2, 3)"))
      var outOfRange = Contents()
      outOfRange.masks!.bytes[9] = 4
      cases.append((outOfRange, "mask value 4 of image 1 is out of range: the file names 4 classes (255 is ignore)"))
      var unnamed = Contents()
      unnamed.metadata["classes"] = nil
      cases.append((unnamed, "metadata 'classes' is missing"))
      var tooMany = Contents()
      tooMany.metadata["classes"] = "[" + (0..<256).map { "\"c\($0)\"" }.joined(separator: ",") + "]"
      cases.append((tooMany, "names 256 classes; a segmentation dataset names 1 to 255"))
      var empty = Contents()
      empty.images = (.u8, [0, 1, 2, 3], [])
      empty.masks = (.u8, [0, 2, 3], [])
      cases.append((empty, "the dataset is empty (0 images)"))
      var flat = Contents()
      flat.images = (.u8, [2, 6], (0..<12).map { UInt8($0) })
      cases.append((flat, "tensor 'images' has shape [2, 6]; expected (N, C, H, W)"))
      var notAnImage = Contents()
      notAnImage.images.dtype = .i8
      cases.append((notAnImage, "tensor 'images' is I8; expected U8 or a float type"))
      for (index, (contents, expected)) in cases.enumerated() {
        let path = try write(contents, in: directory, name: "case\(index).safetensors")
        let message = refusal { _ = try SegmentationFile(path: path) }
        #expect(message.hasPrefix(path + ": ") && message.contains(expected), "\(message)")
      }
      var colour = Contents()
      colour.images = (.u8, [2, 3, 2, 3], [UInt8](repeating: 7, count: 36))
      let path = try write(colour, in: directory, name: "colour.safetensors")
      #expect(
        refusal { _ = try SegmentationFile(path: path, mean: [0], std: [1]) }
          == "\(path): images have 3 channels; the model takes 1 (colour images are not made grey here: convert them first)"
      )
    }
  }

  @Test func masksAreMatchedToTheModelByNameKeepingIgnore() throws {
    try withDirectory { directory in
      let file = try SegmentationFile(path: try write(Contents(), in: directory))
      // The model's rows: z at 1, y at 4, background at 0.
      let matched = try file.labeled(by: ClassMap(names: ["background", "z", "q", nil, "y"]))
      #expect(matched.masks == [0, 0, 4, 4, 255, 0, 0, 1, 1, 0, 0, 255])
      #expect(
        refusal { _ = try file.labeled(by: ClassMap(names: ["background", "y"])) }.contains("class 'z' is not one"))
      // Learning: background is the model's and keeps its row; y and z take the unused rows in order.
      var map = ClassMap(names: ["background", "shirt", nil, nil])
      let learned = try file.learning(into: &map)
      #expect(map.names == ["background", "shirt", "y", "z"])
      #expect(learned.masks == [0, 0, 2, 2, 255, 0, 0, 3, 3, 0, 0, 255])
    }
  }

  @Test func relabelingRefusesValuesOutsideTheTableAndRowsAMaskCannotHold() throws {
    let images = SegmentedImages(
      pixels: .bytes([0, 0, 0]), masks: [1, 255, 0], channels: 1, height: 1, width: 3, mean: [0], std: [1])
    #expect(try images.relabeled([7, 9], file: "d").masks == [9, 255, 7])
    #expect(
      refusal { _ = try images.relabeled([7], file: "d") }
        == "d: mask value 1 of image 0 is out of range 0..<1 (its class list; 255 is ignore)")
    #expect(
      refusal { _ = try images.relabeled([7, -1], file: "d") }.contains("mask value 1 of image 0 is out of range"))
    #expect(refusal { _ = try images.relabeled([0, 255], file: "d") }.contains("would become row 255"))
  }

  @Test func joiningSetsKeepsEachOnesNormalisationAndMasks() {
    let a = SegmentedImages(pixels: .bytes([255]), masks: [1], channels: 1, height: 1, width: 1, mean: [0], std: [1])
    let b = SegmentedImages(
      pixels: .bytes([255]), masks: [255], channels: 1, height: 1, width: 1, mean: [0.5], std: [0.25])
    let joined = SegmentedImages.joined([a, b])
    #expect(joined.masks == [1, 255] && joined.count == 2)
    #expect(joined.batch([0, 1]).scalars == [1, 2])
  }
}
