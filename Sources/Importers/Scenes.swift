// Segmentation and detection scenes composed from a classification dataset (Formats/dataset.md,
// "Scenes"): objects (whole source images) pasted at seeded random places and scales on a canvas, later
// ones in front, each pixel's class taken from the object's own pixels by a threshold, each visible
// object's box from the pixels it shows. Every random choice comes from one SplitMix64 stream, so a
// seed gives the same bytes on every machine.

import SeededRandom
import TensorFile

/// How scenes are composed; kswap-pack's --scenes flags (kswap-pack(1), "Segmentation scenes").
public struct SceneSettings: Sendable, Equatable {
  /// Number of scenes.
  public var count: Int
  /// Canvas size; nil: twice the source images' height and width.
  public var height: Int?
  public var width: Int?
  /// Objects per scene, drawn uniformly from this range.
  public var objects: ClosedRange<Int>
  /// An object's size as a multiple of its source image's, drawn uniformly from [lower, upper).
  public var scale: ClosedRange<Float>
  /// A pixel of a resized object belongs to it when its largest channel exceeds this, on the [0, 1]
  /// scale: U8 value > threshold * 255 (in double precision); F32 value > threshold rounded to F32.
  public var threshold: Double
  /// The scene label of the source's label 0: for segmentation 1, just after the background, or a
  /// model's class count (kswap-pack's --label-offset) for scenes of new classes; for detection (no
  /// background class) 0 or that offset.
  public var firstLabel: Int
  public var seed: UInt64

  public init(
    count: Int, height: Int? = nil, width: Int? = nil, objects: ClosedRange<Int> = 1...3,
    scale: ClosedRange<Float> = 0.75...1.5, threshold: Double = 0.2, firstLabel: Int = 1, seed: UInt64 = 0
  ) {
    self.count = count
    self.height = height
    self.width = width
    self.objects = objects
    self.scale = scale
    self.threshold = threshold
    self.firstLabel = firstLabel
    self.seed = seed
  }

  /// The settings as the `scenes` metadata value: a JSON object, so a file says how it was made.
  public func metadata(height: Int, width: Int, background: String?) -> String {
    var members: [(key: String, value: JSON)] = [
      ("count", .integer(count)), ("size", .array([.integer(height), .integer(width)])),
      ("objects", .array([.integer(objects.lowerBound), .integer(objects.upperBound)])),
      ("scale", .array([.number("\(scale.lowerBound)"), .number("\(scale.upperBound)")])),
      ("threshold", .number("\(threshold)")), ("first_label", .integer(firstLabel)), ("seed", .number("\(seed)")),
    ]
    if let background { members.append(("background", .string(background))) }
    return JSON.object(members).text()
  }
}

/// The name of the class of every scene pixel no object covers.
public let sceneBackgroundClass = "background"

/// The images of a dataset file of any task, as the canvas of scenes (their labels or masks unused).
public struct SceneBackground: Sendable {
  let images: Dataset.Pixels
  let count: Int
  let channels: Int
  let height: Int
  let width: Int

  public init(_ dataset: Dataset) {
    (images, count, channels, height, width) =
      (dataset.images, dataset.count, dataset.channels, dataset.height, dataset.width)
  }

  public init(_ dataset: SegmentationDataset) {
    (images, count, channels, height, width) =
      (dataset.images, dataset.count, dataset.channels, dataset.height, dataset.width)
  }

  public init(_ dataset: DetectionDataset) {
    (images, count, channels, height, width) =
      (dataset.images, dataset.count, dataset.channels, dataset.height, dataset.width)
  }
}

extension Dataset {
  /// Scenes composed from this classification dataset's images (the objects), on a black canvas or on
  /// random crops of `background`'s images (labelled background all the same). Scene classes are
  /// "background" (label 0), then the source's classes from `settings.firstLabel` on, unnamed between.
  /// `file` and `backgroundFile` name the inputs in errors.
  public func composingScenes(
    _ settings: SceneSettings, background: SceneBackground? = nil, file: String,
    backgroundFile: String = "background"
  ) throws -> SegmentationDataset {
    if classes.contains(sceneBackgroundClass) {
      throw ImportError(
        .invalidDataset, file, "a class is named \"\(sceneBackgroundClass)\", the name scenes give their background")
    }
    let ignore = Int(DatasetLayout.ignoreLabel)
    guard settings.firstLabel >= 1, settings.firstLabel + classes.count <= ignore else {
      throw ImportError(
        .invalidOption,
        file,
        "scene labels \(settings.firstLabel)...\(settings.firstLabel + classes.count - 1) for \(classes.count) "
          + "classes after the background do not fit a mask (1 to \(ignore - 1); \(ignore) is ignore)")
    }
    var composer = try sceneComposer(settings, background: background, file: file, backgroundFile: backgroundFile)
    let scenes = composer.compose(masks: true)
    let sceneClasses =
      [sceneBackgroundClass] + [String?](repeating: nil, count: settings.firstLabel - 1) + classes
    return try SegmentationDataset(
      images: scenes.images, channels: composer.channels, height: composer.height, width: composer.width,
      masks: scenes.masks, classes: sceneClasses, source: source, split: split, file: file)
  }

  /// Detection scenes: composed exactly as `composingScenes` composes them (the same seed gives the same
  /// images), each object that shows in the finished scene with a box, the smallest box around its
  /// visible pixels: those pasted (above the threshold) and not covered by a later object, as COCO's
  /// boxes enclose the visible object. An object with no visible pixel has no box. Boxes are in the
  /// order the objects were drawn (back to front). There is no background class: the source's label j
  /// becomes `settings.firstLabel` + j (0 + j by default), unnamed labels before.
  public func composingDetectionScenes(
    _ settings: SceneSettings, background: SceneBackground? = nil, file: String,
    backgroundFile: String = "background"
  ) throws -> DetectionDataset {
    guard settings.firstLabel >= 0, settings.firstLabel + classes.count <= maxLabel else {
      throw ImportError(
        .invalidOption,
        file, "scene labels from \(settings.firstLabel) for \(classes.count) classes are not 0 to \(maxLabel - 1)")
    }
    var composer = try sceneComposer(settings, background: background, file: file, backgroundFile: backgroundFile)
    let scenes = composer.compose(masks: false)
    return try DetectionDataset(
      images: scenes.images, channels: composer.channels, height: composer.height, width: composer.width,
      boxes: scenes.boxes, boxLabels: scenes.boxLabels, boxOffsets: scenes.boxOffsets,
      classes: [String?](repeating: nil, count: settings.firstLabel) + classes, source: source, split: split,
      file: file)
  }

  /// The composer of either kind of scene, once the settings and inputs are checked.
  private func sceneComposer(
    _ settings: SceneSettings, background: SceneBackground?, file: String, backgroundFile: String
  ) throws -> SceneComposer {
    guard count > 0 else { throw ImportError(.invalidDataset, file, "no images to compose scenes from") }
    guard settings.count > 0 else { throw ImportError(.invalidOption, file, "the number of scenes must be at least 1") }
    guard settings.objects.lowerBound >= 1 else {
      throw ImportError(.invalidOption, file, "a scene holds at least one object")
    }
    guard settings.scale.lowerBound > 0, settings.scale.upperBound.isFinite else {
      throw ImportError(.invalidOption, file, "object scales must be positive and finite")
    }
    guard settings.threshold.isFinite else {
      throw ImportError(.invalidOption, file, "the object threshold must be finite")
    }
    let canvasHeight = settings.height ?? 2 * height, canvasWidth = settings.width ?? 2 * width
    // RGB when either input is (the other grey, checked below): grey images are repeated into each channel.
    let sceneChannels = max(channels, background?.channels ?? 0)
    guard let values = checkedProduct([settings.count, sceneChannels, canvasHeight, canvasWidth]),
      values <= ImportLimits.standard.maxElements
    else {
      throw ImportError(
        .limitExceeded,
        file,
        "\(settings.count) scenes of \(sceneChannels)x\(canvasHeight)x\(canvasWidth) are more than "
          + "\(ImportLimits.standard.maxElements) pixel values")
    }
    let largest = objectSize(settings.scale.upperBound)
    guard largest.height <= canvasHeight, largest.width <= canvasWidth else {
      throw ImportError(
        .invalidOption,
        file,
        "objects up to \(largest.height)x\(largest.width) (scale \(settings.scale.upperBound)) do not fit a "
          + "\(canvasHeight)x\(canvasWidth) canvas")
    }
    if let background {
      guard background.count > 0 else { throw ImportError(.invalidDataset, backgroundFile, "no background images") }
      guard background.channels == channels || Set([background.channels, channels]) == [1, 3] else {
        throw ImportError(
          .invalidDataset,
          backgroundFile, "background images have \(background.channels) channels, the objects \(channels)")
      }
    }
    return SceneComposer(
      objects: self, background: background, settings: settings, channels: sceneChannels, height: canvasHeight,
      width: canvasWidth)
  }

  /// An object's (height, width) at `scale`: each side rounded, at least 1 (and capped far above any
  /// canvas, so a huge scale is refused as too large rather than overflowing).
  func objectSize(_ scale: Float) -> (height: Int, width: Int) {
    func side(_ size: Int) -> Int { max(1, Int(min((scale * Float(size)).rounded(), Float(1 << 24)))) }
    return (side(height), side(width))
  }
}

/// The work of `composingScenes` and `composingDetectionScenes`, one scene at a time: which object
/// shows at each pixel decides both the mask and the boxes.
struct SceneComposer {
  let objects: Dataset
  let background: SceneBackground?
  let settings: SceneSettings
  let height: Int
  let width: Int
  let channels: Int
  /// Bytes when every input is; else floats, bytes divided by 255.
  let outputBytes: Bool
  var generator: SeededGenerator

  init(
    objects: Dataset, background: SceneBackground?, settings: SceneSettings, channels: Int, height: Int, width: Int
  ) {
    self.objects = objects
    self.background = background
    self.settings = settings
    self.channels = channels
    self.height = height
    self.width = width
    outputBytes = objects.images.isBytes && background?.images.isBytes != false
    generator = SeededGenerator(seed: settings.seed ^ 0x5CE2_E5C0_A11A_9E5D)
  }

  /// Every scene's images, in scene order, with its masks (`masks`: each pixel's class, 0 where no
  /// object shows; else empty) and the boxes of its visible objects (`DetectionDataset`'s layout).
  mutating func compose(masks makeMasks: Bool) -> (
    images: Dataset.Pixels, masks: [UInt8], boxes: [Float], boxLabels: [Int64], boxOffsets: [Int]
  ) {
    let plane = height * width
    var bytes: [UInt8] = [], floats: [Float] = []
    if outputBytes { bytes.reserveCapacity(settings.count * channels * plane) }
    if !outputBytes { floats.reserveCapacity(settings.count * channels * plane) }
    var masks = [UInt8](repeating: 0, count: makeMasks ? settings.count * plane : 0)
    var boxes: [Float] = [], boxLabels: [Int64] = [], boxOffsets = [0]
    var owners = [Int](repeating: -1, count: plane)
    for scene in 0..<settings.count {
      // The draws, in this order: object count, background (image, crop), each object (image, scale, place).
      let objectCount = settings.objects.lowerBound + generator.below(settings.objects.count)
      var canvas = [Float](repeating: 0, count: channels * plane)
      if let background { paintBackground(background, into: &canvas) }
      for i in owners.indices { owners[i] = -1 }
      var labels: [Int] = []
      for object in 0..<objectCount { labels.append(paste(into: &canvas, owners: &owners, object: object)) }
      // Bytes stay whole numbers throughout (resized bytes are rounded), so the conversion back is exact.
      if outputBytes { bytes += canvas.map { UInt8($0) } } else { floats += canvas }
      if makeMasks {
        for (pixel, owner) in owners.enumerated() where owner >= 0 {
          masks[scene * plane + pixel] = UInt8(labels[owner])
        }
      }
      // Each object's visible pixels' extent, as pixel edges: (min x, min y, max x + 1, max y + 1).
      var extents = [(x0: Int, y0: Int, x1: Int, y1: Int)?](repeating: nil, count: objectCount)
      for (pixel, owner) in owners.enumerated() where owner >= 0 {
        let (y, x) = pixel.quotientAndRemainder(dividingBy: width)
        let old = extents[owner] ?? (x, y, x + 1, y + 1)
        extents[owner] = (min(old.x0, x), min(old.y0, y), max(old.x1, x + 1), max(old.y1, y + 1))
      }
      for (object, extent) in extents.enumerated() {
        guard let extent else { continue }
        boxes += [Float(extent.x0), Float(extent.y0), Float(extent.x1), Float(extent.y1)]
        boxLabels.append(Int64(labels[object]))
      }
      boxOffsets.append(boxLabels.count)
    }
    return (outputBytes ? .u8(bytes) : .f32(floats), masks, boxes, boxLabels, boxOffsets)
  }

  /// One random crop of a random background image, resized to the canvas.
  private mutating func paintBackground(_ background: SceneBackground, into canvas: inout [Float]) {
    let index = generator.below(background.count)
    let fraction = generator.uniform(0.5, 1)
    let cropHeight = max(1, Int((fraction * Float(background.height)).rounded()))
    let cropWidth = max(1, Int((fraction * Float(background.width)).rounded()))
    let top = generator.below(background.height - cropHeight + 1)
    let left = generator.below(background.width - cropWidth + 1)
    let crop = ImagePlanes(
      background.images, index: index, channels: background.channels, height: background.height,
      width: background.width, rows: top..<(top + cropHeight), columns: left..<(left + cropWidth))
    let shrinking = cropHeight >= height && cropWidth >= width
    let resized = crop.resized(to: height, width, method: shrinking ? .area : .bilinear)
    let plane = height * width
    for c in 0..<channels {
      let from = min(c, background.channels - 1) * plane
      for i in 0..<plane { canvas[c * plane + i] = scaled(resized.values[from + i], bytes: background.images.isBytes) }
    }
  }

  /// One random object at a random scale and place: its pixels above the threshold replace the
  /// canvas's and become `object`'s in `owners`; the others leave what is behind. Returns its scene label.
  private mutating func paste(into canvas: inout [Float], owners: inout [Int], object number: Int) -> Int {
    let index = generator.below(objects.count)
    // A range of one value draws too (low + 0 * u is low), so the stream does not depend on the range.
    let scale = generator.uniform(settings.scale.lowerBound, settings.scale.upperBound)
    let (objectHeight, objectWidth) = objects.objectSize(scale)
    let top = generator.below(height - objectHeight + 1)
    let left = generator.below(width - objectWidth + 1)
    let source = ImagePlanes(
      objects.images, index: index, channels: objects.channels, height: objects.height, width: objects.width,
      rows: 0..<objects.height, columns: 0..<objects.width)
    let shrinking = objectHeight <= objects.height && objectWidth <= objects.width
    let object = source.resized(to: objectHeight, objectWidth, method: shrinking ? .area : .bilinear)
    // U8 compares with threshold * 255 in double precision; F32 with the threshold rounded to F32, as
    // numpy compares a float32 array with a number.
    let limit = objects.images.isBytes ? settings.threshold * 255 : Double(Float(settings.threshold))
    let objectPlane = objectHeight * objectWidth, plane = height * width
    for y in 0..<objectHeight {
      for x in 0..<objectWidth {
        let pixel = y * objectWidth + x
        var strongest = -Double.infinity
        for c in 0..<objects.channels { strongest = max(strongest, Double(object.values[c * objectPlane + pixel])) }
        guard strongest > limit else { continue }
        let target = (top + y) * width + left + x
        owners[target] = number
        for c in 0..<channels {
          let value = object.values[min(c, objects.channels - 1) * objectPlane + pixel]
          canvas[c * plane + target] = scaled(value, bytes: objects.images.isBytes)
        }
      }
    }
    return settings.firstLabel + Int(objects.labels[index])
  }

  /// A value of an input on the output's scale.
  private func scaled(_ value: Float, bytes: Bool) -> Float {
    bytes && !outputBytes ? value / 255 : value
  }
}

/// Planar (C, H, W) values of one image or crop, as stored (bytes as whole numbers).
struct ImagePlanes {
  var values: [Float]
  var channels: Int
  var height: Int
  var width: Int
  var isBytes: Bool

  /// The same image at `outHeight` x `outWidth`, bytes rounded as `Dataset.resized` rounds them.
  func resized(to outHeight: Int, _ outWidth: Int, method: ResizeMethod) -> ImagePlanes {
    if outHeight == height && outWidth == width { return self }
    var out: [Float] = []
    if isBytes {
      out = Resizer.bytes(
        values.map { UInt8($0) }, channels: channels, height, width, to: outHeight, outWidth, method: method
      ).map { Float($0) }
    } else {
      values.withUnsafeBufferPointer { buffer in
        for c in 0..<channels {
          out += Resizer.plane(
            UnsafeBufferPointer(rebasing: buffer[c * height * width..<(c + 1) * height * width]),
            height, width, to: outHeight, outWidth, method: method)
        }
      }
    }
    return ImagePlanes(values: out, channels: channels, height: outHeight, width: outWidth, isBytes: isBytes)
  }
}

extension ImagePlanes {
  /// The pixels of image `index` of `images` (each channels x height x width) inside `rows` x `columns`.
  init(
    _ images: Dataset.Pixels, index: Int, channels: Int, height: Int, width: Int, rows: Range<Int>,
    columns: Range<Int>
  ) {
    var values: [Float] = []
    values.reserveCapacity(channels * rows.count * columns.count)
    for c in 0..<channels {
      for y in rows {
        let start = ((index * channels + c) * height + y) * width
        let range = (start + columns.lowerBound)..<(start + columns.upperBound)
        switch images {
        case .u8(let bytes): values += bytes[range].map { Float($0) }
        case .f32(let floats): values += floats[range]
        }
      }
    }
    self.init(values: values, channels: channels, height: rows.count, width: columns.count, isBytes: images.isBytes)
  }
}

extension Dataset.Pixels {
  var isBytes: Bool { if case .u8 = self { return true } else { return false } }
}
