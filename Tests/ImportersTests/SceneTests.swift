// Segmentation scenes composed from classification images by the documented rules (Formats/dataset.md,
// "Scenes"): the threshold, the order, the classes, the background, the seed, and what is refused.

import Importers
import TensorFile
import Testing

@Suite struct SceneTests {
  /// Four 2x2 grey objects, classes p, q; pixel values chosen around the default threshold (51).
  func objects() throws -> Dataset {
    try Dataset(
      images: .u8([255, 51, 52, 0, 0, 200, 100, 9, 52, 52, 52, 52, 51, 51, 51, 51]), channels: 1, height: 2,
      width: 2, labels: [0, 1, 0, 1], classes: ["p", "q"], file: "o")
  }

  @Test func scenesFollowTheThresholdRuleAtScaleOne() throws {
    let objects = try objects()
    let settings = SceneSettings(count: 40, height: 3, width: 3, objects: 1...1, scale: 1...1, seed: 5)
    let scenes = try objects.composingScenes(settings, file: "o")
    #expect(scenes.classes == ["background", "p", "q"] && scenes.count == 40)
    let masks = scenes.masks
    guard case .u8(let pixels) = scenes.images, case .u8(let source) = objects.images else {
      Issue.record("expected bytes and masks")
      return
    }
    // Every scene is one object at one of 4 places: find it and check pixels and mask exactly.
    for scene in 0..<40 {
      let image = Array(pixels[scene * 9..<(scene + 1) * 9]), mask = Array(masks[scene * 9..<(scene + 1) * 9])
      var matches = 0
      for object in 0..<4 {
        for top in 0..<2 {
          for left in 0..<2 {
            var wantImage = [UInt8](repeating: 0, count: 9), wantMask = [UInt8](repeating: 0, count: 9)
            for y in 0..<2 {
              for x in 0..<2 {
                let value = source[object * 4 + y * 2 + x]
                // The rule: value > 0.2 * 255 = 51.
                guard value > 51 else { continue }
                wantImage[(top + y) * 3 + left + x] = value
                wantMask[(top + y) * 3 + left + x] = UInt8(1 + objects.labels[object])
              }
            }
            if wantImage == image && wantMask == mask { matches += 1 }
          }
        }
      }
      // Object 3 (all 51) pastes nothing: its scenes are black background, like no other object's.
      #expect(matches >= 1, "scene \(scene)")
    }
  }

  @Test func scenesAreDeterministicAndEveryMaskedPixelIsAnObjects() throws {
    let settings = SceneSettings(count: 30, height: 6, width: 6, objects: 2...3, scale: 0.5...2, seed: 9)
    let first = try objects().composingScenes(settings, file: "o")
    #expect(try objects().composingScenes(settings, file: "o") == first)
    var other = settings
    other.seed = 10
    #expect(try objects().composingScenes(other, file: "o") != first)
    // On a black canvas a pixel is an object's exactly when it is above the threshold.
    guard case .u8(let pixels) = first.images else { return }
    for (pixel, mask) in zip(pixels, first.masks) { #expect(mask == 0 ? pixel == 0 : pixel > 51) }
    #expect(Set(first.masks).isSubset(of: [0, 1, 2]))
  }

  @Test func newClassScenesStartAtTheirFirstLabel() throws {
    var settings = SceneSettings(count: 5, objects: 1...1, scale: 1...1, firstLabel: 11, seed: 1)
    let scenes = try objects().composingScenes(settings, file: "o")
    #expect(scenes.classes == ["background"] + [String?](repeating: nil, count: 10) + ["p", "q"])
    #expect(scenes.height == 4 && scenes.width == 4)  // twice the objects' size by default
    #expect(Set(scenes.masks).isSubset(of: [0, 11, 12]))
    settings.firstLabel = 254
    #expect(
      throws: ImportError(
        .invalidOption,
        "o", "scene labels 254...255 for 2 classes after the background do not fit a mask (1 to 254; 255 is ignore)")
    ) { try objects().composingScenes(settings, file: "o") }
  }

  @Test func scenesRefuseWhatTheyCannotCompose() throws {
    #expect(throws: ImportError(.invalidOption, "o", "objects up to 4x4 (scale 2.0) do not fit a 3x3 canvas")) {
      try objects().composingScenes(SceneSettings(count: 1, height: 3, width: 3, scale: 1...2), file: "o")
    }
    var named = try objects()
    named.classes = ["background", "q"]
    #expect(
      throws: ImportError(
        .invalidDataset, "o", "a class is named \"background\", the name scenes give their background")
    ) { try named.composingScenes(SceneSettings(count: 1), file: "o") }
    let colour = try Dataset(
      images: .u8([UInt8](repeating: 9, count: 12)), channels: 3, height: 2, width: 2, labels: [0], file: "c")
    let twoChannels = try Dataset(
      images: .u8([UInt8](repeating: 9, count: 8)), channels: 2, height: 2, width: 2, labels: [0], file: "t")
    let grey = try Dataset(
      images: .u8([UInt8](repeating: 9, count: 4)), channels: 1, height: 2, width: 2, labels: [0], file: "g")
    #expect(throws: ImportError(.invalidDataset, "t", "background images have 2 channels, the objects 1")) {
      try grey.composingScenes(
        SceneSettings(count: 1), background: SceneBackground(twoChannels), file: "g", backgroundFile: "t")
    }
    #expect(throws: ImportError(.invalidDataset, "bg", "background images have 2 channels, the objects 3")) {
      try colour.composingScenes(
        SceneSettings(count: 1), background: SceneBackground(twoChannels), file: "c", backgroundFile: "bg")
    }
  }

  @Test func floatObjectsCompareWithTheThresholdItselfAndMakeFloatScenes() throws {
    // F32 objects: 0.2 is not above 0.2, 0.25 is; a U8 background (value 51) becomes 51 / 255 = 0.2.
    let objects = try Dataset(
      images: .f32([0.25, 0.2, 0.9, 0]), channels: 1, height: 2, width: 2, labels: [0], classes: ["o"], file: "f")
    let background = try Dataset(
      images: .u8([UInt8](repeating: 51, count: 4)), channels: 1, height: 2, width: 2, labels: [0], file: "bg")
    let scenes = try objects.composingScenes(
      SceneSettings(count: 3, height: 2, width: 2, objects: 1...1, scale: 1...1),
      background: SceneBackground(background), file: "f")
    let scene: [Float] = [0.25, 51 / 255, 0.9, 51 / 255]
    #expect(scenes.images == .f32(scene + scene + scene))
    #expect(scenes.masks == [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
  }

  @Test func backgroundsAreCropsAndGreyMeetsColour() throws {
    // A constant grey background (value 30) under colour objects: scenes are RGB, the background 30 in
    // every channel wherever no object pixel is, and still class 0.
    let background = try Dataset(
      images: .u8([UInt8](repeating: 30, count: 2 * 16)), channels: 1, height: 4, width: 4, labels: [0, 0],
      file: "bg")
    let colour = try Dataset(
      images: .u8([200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), channels: 3, height: 2, width: 2, labels: [0],
      classes: ["red"], file: "c")
    let scenes = try colour.composingScenes(
      SceneSettings(count: 6, height: 4, width: 4, objects: 1...1, scale: 1...1, seed: 2),
      background: SceneBackground(background), file: "c")
    #expect(scenes.channels == 3)
    guard case .u8(let pixels) = scenes.images else { return }
    let masks = scenes.masks
    for scene in 0..<6 {
      let red = Array(pixels[scene * 48..<scene * 48 + 16]), green = Array(pixels[scene * 48 + 16..<scene * 48 + 32])
      let mask = Array(masks[scene * 16..<(scene + 1) * 16])
      #expect(mask.filter { $0 == 1 }.count == 1 && mask.filter { $0 == 0 }.count == 15)
      for i in 0..<16 {
        #expect(mask[i] == 1 ? red[i] == 200 && green[i] == 0 : red[i] == 30 && green[i] == 30)
      }
    }
  }
}
