// COCO's object detection files (Formats/dataset.md, "COCO files"): an `instances` JSON with its image
// folder becomes a detection dataset, and a detection dataset becomes such a JSON with one PNG per
// image. Category ids are the dataset's labels both ways, so a COCO file's ids survive the round trip.

import Foundation
import TensorFile

/// How a COCO import reads its images.
public struct COCOImportOptions: Sendable {
  /// 1 (grey) or 3 (RGB); nil: 1 when every image is grey, else 3.
  public var channels: Int?
  /// Resize every image (and its boxes) to this size; nil: the images must have one size.
  public var resize: (height: Int, width: Int, method: ResizeMethod)?
  public var limits: ImportLimits = .standard

  public init() {}
}

extension DetectionDataset {
  /// The name of the annotations file in a directory `cocoFiles` makes.
  public static let cocoAnnotationsName = "instances.json"

  /// A COCO `instances` file (`annotations`, already read, named `file` in errors) whose `images`
  /// entries' `file_name`s are files in `folder`. Images in the order of `images`, each with its
  /// annotations in file order; a COCO box [x, y, w, h] becomes x0 = x, y0 = y, x1 = x + w, y1 = y + h
  /// (in double precision, then F32). Category ids become labels and names the class list. Crowd
  /// annotations (`iscrowd` 1) are left out; `crowd` counts them.
  public static func fromCOCO(
    annotations bytes: [UInt8], file: String, folder: String, options: COCOImportOptions = COCOImportOptions()
  ) throws -> (dataset: DetectionDataset, crowd: Int) {
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw ImportError(.malformed, file, "is not UTF-8 text")
    }
    let root = try JSON(parsing: text, file: file)
    func list(_ key: String) throws -> [JSON] {
      guard let items = root[key]?.arrayValue else {
        throw ImportError(.unrecognised, file, "not a COCO instances file: it needs an array \"\(key)\"")
      }
      return items
    }
    let classes = try categories(list("categories"), file: file)
    let entries = try images(list("images"), file: file)
    guard !entries.isEmpty else { throw ImportError(.invalidDataset, file, "\"images\" is empty") }
    let imageIndex = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.id, $0) })

    var perImage = [[(box: [Double], label: Int64)]](repeating: [], count: entries.count)
    var crowd = 0
    for (position, annotation) in try list("annotations").enumerated() {
      let place = "annotations[\(position)]" + (annotation["id"]?.intValue.map { " (id \($0))" } ?? "")
      guard let imageID = annotation["image_id"]?.intValue, let image = imageIndex[imageID] else {
        throw ImportError(.invalidDataset, file, "\(place): image_id is not the id of an entry of \"images\"")
      }
      guard let category = annotation["category_id"]?.intValue, category >= 0, category < classes.count,
        classes[category] != nil
      else {
        throw ImportError(.invalidDataset, file, "\(place): category_id is not the id of an entry of \"categories\"")
      }
      if let flag = annotation["iscrowd"] {
        guard let value = flag.intValue, value == 0 || value == 1 else {
          throw ImportError(.invalidDataset, file, "\(place): iscrowd is not 0 or 1")
        }
        if value == 1 {
          crowd += 1
          continue
        }
      }
      guard let numbers = annotation["bbox"]?.arrayValue?.map(\.doubleValue), numbers.count == 4,
        case let box = numbers.compactMap({ $0 }), box.count == 4
      else {
        throw ImportError(
          .invalidDataset, file, "\(place): bbox is not an array of 4 finite numbers [x, y, width, height]")
      }
      guard box[2] > 0, box[3] > 0 else {
        throw ImportError(.invalidDataset, file, "\(place): bbox \(box) has a width or height of 0 or less")
      }
      perImage[image].append((box, Int64(category)))
    }
    return (
      try assemble(entries: entries, boxes: perImage, classes: classes, file: file, folder: folder, options: options),
      crowd
    )
  }

  /// The class list from `categories`: index = id, null where no category has that id.
  private static func categories(_ items: [JSON], file: String) throws -> [String?] {
    var classes: [String?] = []
    for (position, item) in items.enumerated() {
      guard let id = item["id"]?.intValue, (0..<Int(maxLabel)).contains(id), let name = item["name"]?.stringValue
      else {
        throw ImportError(
          .invalidDataset,
          file, "categories[\(position)]: needs an integer \"id\" from 0 to \(maxLabel - 1) and a \"name\"")
      }
      if classes.count <= id { classes += [String?](repeating: nil, count: id + 1 - classes.count) }
      guard classes[id] == nil else {
        throw ImportError(.invalidDataset, file, "categories[\(position)]: id \(id) is taken twice")
      }
      guard !classes.contains(name) else {
        throw ImportError(
          .invalidDataset, file, "categories[\(position)]: the name \"\(name)\" is taken twice (classes match by name)")
      }
      classes[id] = name
    }
    return classes
  }

  private struct ImageEntry {
    var id: Int
    var fileName: String
    var size: (width: Int, height: Int)?
  }

  private static func images(_ items: [JSON], file: String) throws -> [ImageEntry] {
    var seen = Set<Int>()
    return try items.enumerated().map { position, item in
      guard let id = item["id"]?.intValue, let name = item["file_name"]?.stringValue, !name.isEmpty else {
        throw ImportError(.invalidDataset, file, "images[\(position)]: needs an integer \"id\" and a \"file_name\"")
      }
      guard seen.insert(id).inserted else {
        throw ImportError(.invalidDataset, file, "images[\(position)]: id \(id) is taken twice")
      }
      var size: (Int, Int)?
      if let width = item["width"], let height = item["height"] {
        guard let width = width.intValue, let height = height.intValue else {
          throw ImportError(.invalidDataset, file, "images[\(position)]: width and height are not integers")
        }
        size = (width, height)
      }
      return ImageEntry(id: id, fileName: name, size: size)
    }
  }

  /// Decodes every image, checks its boxes against its size, resizes both where asked, and joins them.
  private static func assemble(
    entries: [ImageEntry], boxes perImage: [[(box: [Double], label: Int64)]], classes: [String?], file: String,
    folder: String, options: COCOImportOptions
  ) throws -> DetectionDataset {
    let paths = entries.map { folder + "/" + $0.fileName }
    var channels = options.channels ?? 1
    if options.channels == nil {
      for path in paths
      where try ImageDecoder.header(Dataset.readFile(path, limits: options.limits), file: path).channels == 3 {
        channels = 3
        break
      }
    }
    var pixels: [UInt8] = []
    var boxes: [Float] = [], labels: [Int64] = [], offsets = [0]
    var size: (height: Int, width: Int)?
    for (entry, (path, annotations)) in zip(entries, zip(paths, perImage)) {
      let image = try ImageDecoder.decode(
        Dataset.readFile(path, limits: options.limits), channels: channels, file: path, limits: options.limits)
      if let declared = entry.size, declared != (image.width, image.height) {
        throw ImportError(
          .invalidDataset,
          path, "image is \(image.width)x\(image.height); \(file) says \(declared.width)x\(declared.height)")
      }
      var imageBoxes: [Float] = []
      for (box, _) in annotations {
        guard box[0] >= 0, box[1] >= 0, box[0] + box[2] <= Double(image.width), box[1] + box[3] <= Double(image.height)
        else {
          throw ImportError(
            .invalidDataset,
            file, "a box of image id \(entry.id), bbox \(box), is not inside its \(image.width)x\(image.height) image")
        }
        imageBoxes += [Float(box[0]), Float(box[1]), Float(box[0] + box[2]), Float(box[1] + box[3])]
      }
      var piece = try DetectionDataset(
        images: .u8(image.planar), channels: channels, height: image.height, width: image.width, boxes: imageBoxes,
        boxLabels: annotations.map(\.label), boxOffsets: [0, annotations.count], classes: classes, file: path)
      if let resize = options.resize {
        piece = try piece.resized(height: resize.height, width: resize.width, method: resize.method, file: path)
      } else if let size, size != (piece.height, piece.width) {
        throw ImportError(
          .invalidDataset,
          path, "image is \(image.width)x\(image.height), the first was \(size.width)x\(size.height): give --resize")
      }
      size = (piece.height, piece.width)
      guard case .u8(let values) = piece.images, pixels.count + values.count <= options.limits.maxElements else {
        throw ImportError(.limitExceeded, file, "more than \(options.limits.maxElements) pixel values")
      }
      pixels += values
      boxes += piece.boxes
      labels += piece.boxLabels
      offsets.append(labels.count)
    }
    // `entries` is not empty (checked by the caller), so the loop set the size.
    guard let size else { preconditionFailure("no images") }
    return try DetectionDataset(
      images: .u8(pixels), channels: channels, height: size.height, width: size.width, boxes: boxes,
      boxLabels: labels, boxOffsets: offsets, classes: classes, file: file)
  }

  /// The dataset as a COCO directory's files: `instances.json` and image i as `NNNNNN.png` (i + 1, at
  /// least six digits). Image ids are i + 1, annotation ids the box's row + 1 (pycocotools counts an id
  /// of 0 as no match), category ids the labels; a box's bbox is [x0, y0, x1 - x0, y1 - y0] and its area
  /// the product of the last two, each the double of the F32 values, iscrowd 0. The categories are the
  /// named classes and any unnamed label a box has (named by its number). F32 images are written as
  /// round(255 * v), v clamped to [0, 1]. `file` names the output in errors.
  public func cocoFiles(file: String) throws -> [(name: String, bytes: [UInt8])] {
    guard channels == 1 || channels == 3 else {
      throw ImportError(.unsupported, file, "images of \(channels) channels: PNG files hold 1 (grey) or 3 (RGB)")
    }
    let digits = max(6, String(count).count)
    func imageName(_ index: Int) -> String {
      let number = String(index + 1)
      return String(repeating: "0", count: digits - number.count) + number + ".png"
    }
    var files: [(name: String, bytes: [UInt8])] = []
    let plane = height * width
    for index in 0..<count {
      var interleaved = [UInt8](repeating: 0, count: pixelsPerImage)
      for c in 0..<channels {
        for pixel in 0..<plane {
          let at = index * pixelsPerImage + c * plane + pixel
          switch images {
          case .u8(let values): interleaved[pixel * channels + c] = values[at]
          case .f32(let values): interleaved[pixel * channels + c] = UInt8((min(max(values[at], 0), 1) * 255).rounded())
          }
        }
      }
      files.append(
        (
          imageName(index),
          try PNGEncoder.encode(interleaved, width: width, height: height, channels: channels, file: file)
        ))
    }
    let used = Set(boxLabels.map { Int($0) })
    let categories: [JSON] = classes.indices.compactMap { label in
      guard classes[label] != nil || used.contains(label) else { return nil }
      return .object([("id", .integer(label)), ("name", .string(classes[label] ?? String(label)))])
    }
    let imageEntries: [JSON] = (0..<count).map { index in
      .object([
        ("id", .integer(index + 1)), ("file_name", .string(imageName(index))), ("width", .integer(width)),
        ("height", .integer(height)),
      ])
    }
    var annotations: [JSON] = []
    for index in 0..<count {
      for row in boxRows(of: index) {
        let x = Double(boxes[4 * row]), y = Double(boxes[4 * row + 1])
        let w = Double(boxes[4 * row + 2]) - x, h = Double(boxes[4 * row + 3]) - y
        annotations.append(
          .object([
            ("id", .integer(row + 1)), ("image_id", .integer(index + 1)),
            ("category_id", .integer(Int(boxLabels[row]))),
            ("bbox", .array([.number(x), .number(y), .number(w), .number(h)])), ("area", .number(w * h)),
            ("iscrowd", .integer(0)),
          ]))
      }
    }
    let json = JSON.object([
      ("images", .array(imageEntries)), ("annotations", .array(annotations)), ("categories", .array(categories)),
    ])
    files.append((Self.cocoAnnotationsName, Array((json.text() + "\n").utf8)))
    return files
  }
}
