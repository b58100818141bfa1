// Picking, relabelling, splitting, sampling, resizing, statistics and metadata of datasets.

import Importers
import Testing

@Suite struct DatasetOperationsTests {
  /// 20 one-pixel images: pixel value = index, label = index % 4, classes a...d.
  func sample() throws -> Dataset {
    try Dataset(
      images: .u8((0..<20).map { UInt8($0) }), channels: 1, height: 1, width: 1,
      labels: (0..<20).map { Int64($0 % 4) }, classes: ["a", "b", "c", "d"], file: "s")
  }

  func values(_ dataset: Dataset) -> [Int] {
    guard case .u8(let pixels) = dataset.images else { return [] }
    return pixels.map(Int.init)
  }

  @Test func pickKeepsLabelsAndOrder() throws {
    let picked = try sample().pickingClasses([3, 1], file: "s")
    #expect(picked.labels == [1, 3, 1, 3, 1, 3, 1, 3, 1, 3])
    #expect(values(picked) == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19])
    #expect(picked.classes == ["a", "b", "c", "d"])
  }

  @Test func compactThenOffset() throws {
    let picked = try sample().pickingClasses([3, 1], file: "s")
    let compact = try picked.compactingLabels([3, 1], file: "s")
    #expect(compact.labels.prefix(2) == [1, 0])
    #expect(compact.classes == ["d", "b"])
    let shifted = try compact.offsettingLabels(by: 10, file: "s")
    #expect(shifted.labels.prefix(2) == [11, 10])
    #expect(shifted.classes.count == 12)
    #expect(shifted.classes[10] == "d" && shifted.classes[0] == nil)
  }

  /// A dataset has at most 65,536 classes (`maxLabel`), however they come: an offset, names, labels.
  @Test func theLabelSpaceIsBounded() throws {
    let four = try sample()
    #expect(try four.offsettingLabels(by: 65532, file: "s").classes.count == 65536)
    #expect(
      throws: ImportError(.limitExceeded, "s", "label offset 65533 makes 65537 classes, more than the limit of 65536")
    ) {
      try four.offsettingLabels(by: 65533, file: "s")
    }
    #expect(throws: ImportError(.invalidOption, "s", "label offset -1 is negative")) {
      try four.offsettingLabels(by: -1, file: "s")
    }
    let names = (0...65536).map { "c\($0)" }
    #expect(throws: ImportError(.limitExceeded, "d", "65537 classes, more than the limit of 65536")) {
      try Dataset(images: .u8([0]), channels: 1, height: 1, width: 1, labels: [0], classes: names, file: "d")
    }
    #expect(throws: ImportError(.limitExceeded, "d", "label 65536 is too large (labels are below 65536)")) {
      try Dataset(images: .u8([0]), channels: 1, height: 1, width: 1, labels: [65536], file: "d")
    }
  }

  @Test func classesByNameOrNumber() throws {
    let dataset = try sample()
    #expect(try dataset.label(ofClass: "c", file: "s") == 2)
    #expect(try dataset.label(ofClass: "3", file: "s") == 3)
    #expect(throws: ImportError(.notFound, "s", "no class \"e\" (classes: a, b, c, d)")) {
      try dataset.label(ofClass: "e", file: "s")
    }
  }

  @Test func splitIsStratifiedDisjointAndDeterministic() throws {
    let dataset = try sample()
    let (train, test) = try dataset.splitting(testFraction: 0.4, seed: 7, file: "s")
    #expect(test.countsPerClass == [2, 2, 2, 2])
    #expect(train.countsPerClass == [3, 3, 3, 3])
    #expect(Set(values(train)).isDisjoint(with: values(test)))
    #expect(Set(values(train) + values(test)) == Set(0..<20))
    #expect(values(test) == values(test).sorted())
    #expect(train.split == "train" && test.split == "test")
    let again = try dataset.splitting(testFraction: 0.4, seed: 7, file: "s")
    #expect(again.test == test)
    let other = try dataset.splitting(testFraction: 0.4, seed: 8, file: "s")
    #expect(other.test != test)
  }

  @Test func fractionIsStratifiedAndSeeded() throws {
    let dataset = try sample()
    let half = try dataset.sampling(fraction: 0.5, seed: 1, file: "s")
    #expect(half.countsPerClass == [3, 3, 3, 3])  // 2.5 of 5 rounds away from zero
    let fifth = try dataset.sampling(fraction: 0.2, seed: 1, file: "s")
    #expect(fifth.countsPerClass == [1, 1, 1, 1])
    #expect(try dataset.sampling(fraction: 0.5, seed: 1, file: "s") == half)
    #expect(throws: ImportError(.invalidOption, "s", "fraction 0.0 is not in (0, 1]")) {
      try dataset.sampling(fraction: 0, seed: 1, file: "s")
    }
  }

  @Test func randomSamplingTakesIntOfTheWholeSetWhateverTheClass() throws {
    let dataset = try sample()
    // int(0.29 * 20) = int(5.8) = 5, truncated as the official code's int(); stratified rounding would give 6.
    let picked = try dataset.sampling(fraction: 0.29, seed: 3, method: .random, file: "s")
    #expect(picked.count == 5)
    #expect(values(picked) == values(picked).sorted())
    #expect(picked.labels == values(picked).map { Int64($0 % 4) })
    #expect(try dataset.sampling(fraction: 0.29, seed: 3, method: .random, file: "s") == picked)
    #expect(try dataset.sampling(fraction: 0.29, seed: 4, method: .random, file: "s") != picked)
    #expect(try dataset.sampling(fraction: 1, seed: 3, method: .random, file: "s") == dataset)
    // Uniform over images, blind to classes: over 2000 seeds a quarter of the set (5 images) takes each
    // image about 500 times (binomial sd 19), and often leaves a class out, which stratified never does.
    var taken = [Int](repeating: 0, count: 20)
    var classMissing = 0
    for seed in 0..<2000 {
      let quarter = try dataset.sampling(fraction: 0.25, seed: UInt64(seed), method: .random, file: "s")
      for value in values(quarter) { taken[value] += 1 }
      if quarter.countsPerClass.contains(0) { classMissing += 1 }
    }
    #expect(taken.allSatisfy { (420...580).contains($0) }, "\(taken)")
    #expect(classMissing > 200)
    #expect(try dataset.sampling(fraction: 0.25, seed: 0, file: "s").countsPerClass == [1, 1, 1, 1])
    #expect(throws: ImportError(.invalidOption, "s", "fraction 1.5 is not in (0, 1]")) {
      try dataset.sampling(fraction: 1.5, seed: 1, method: .random, file: "s")
    }
  }

  @Test func bilinearMatchesHalfPixelInterpolation() throws {
    // 1x2 image [0, 100] to 1x4: source x = (i + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25.
    let dataset = try Dataset(images: .f32([0, 100]), channels: 1, height: 1, width: 2, labels: [0], file: "r")
    let wide = try dataset.resized(height: 1, width: 4, method: .bilinear, file: "r")
    #expect(wide.images == .f32([0, 25, 75, 100]))
  }

  @Test func areaAveragesBoxes() throws {
    // 1x3 to 1x2: boxes [0, 2) and [1, 3) (adaptive average pooling).
    let dataset = try Dataset(images: .u8([10, 20, 41]), channels: 1, height: 1, width: 3, labels: [0], file: "r")
    let narrow = try dataset.resized(height: 1, width: 2, method: .area, file: "r")
    #expect(narrow.images == .u8([15, 31]))  // 15 and 30.5 rounded away from zero
    let grid = try Dataset(images: .u8([0, 4, 8, 12]), channels: 1, height: 2, width: 2, labels: [0], file: "r")
    #expect(try grid.resized(height: 1, width: 1, method: .area, file: "r").images == .u8([6]))
  }

  @Test func badResizeTarget() throws {
    #expect(throws: ImportError(.invalidOption, "s", "resize target 0x4 is out of range (1 to 16384)")) {
      try sample().resized(height: 0, width: 4, method: .area, file: "s")
    }
  }

  @Test func statisticsAndMetadataRoundTrip() throws {
    var dataset = try Dataset(
      images: .u8([0, 255, 0, 255]), channels: 1, height: 2, width: 2, labels: [0],
      classes: ["T-shirt/top"], source: "test", split: "train", file: "m")
    dataset.setStatisticsIfMissing()
    #expect(dataset.mean == [0.5] && dataset.std == [0.5])
    let metadata = dataset.metadata(extra: ["note": "kept"])
    #expect(metadata["classes"] == "[\"T-shirt/top\"]")
    #expect(metadata["mean"] == "[0.5]" && metadata["dataset"] == "1" && metadata["note"] == "kept")
    let parsed = try Dataset.parseMetadata(metadata, file: "m")
    #expect(parsed.classes == ["T-shirt/top"] && parsed.mean == [0.5] && parsed.std == [0.5])
    #expect(parsed.source == "test" && parsed.split == "train")
    let quoted = try Dataset(
      images: .u8([0]), channels: 1, height: 1, width: 1, labels: [1],
      classes: [nil, "say \"hi\"\n"], file: "q")
    #expect(quoted.metadata()["classes"] == "[null,\"say \\\"hi\\\"\\n\"]")
    #expect(try Dataset.parseMetadata(quoted.metadata(), file: "q").classes == [nil, "say \"hi\"\n"])
  }

  @Test func malformedMetadata() {
    #expect(
      throws: ImportError(.invalidDataset, "m", "metadata \"mean\" is not a JSON array of the right kind: [\"x\"]")
    ) {
      try Dataset.parseMetadata(["mean": "[\"x\"]"], file: "m")
    }
  }

  @Test func inconsistentPartsAreRefused() {
    #expect(throws: ImportError(.invalidDataset, "d", "3 pixel values do not make 1 images of 1x2x2")) {
      try Dataset(images: .u8([0, 0, 0]), channels: 1, height: 2, width: 2, labels: [0], file: "d")
    }
    #expect(throws: ImportError(.invalidDataset, "d", "label 2 has no class name (2 classes)")) {
      try Dataset(images: .u8([0]), channels: 1, height: 1, width: 1, labels: [2], classes: ["a", "b"], file: "d")
    }
    #expect(throws: ImportError(.invalidDataset, "d", "image values must be finite; found NaN or infinity")) {
      try Dataset(images: .f32([.nan]), channels: 1, height: 1, width: 1, labels: [0], file: "d")
    }
    #expect(throws: ImportError(.invalidOption, "d", "std has 2 values for 1 channels")) {
      try Dataset(images: .u8([0]), channels: 1, height: 1, width: 1, labels: [0], std: [1, 1], file: "d")
    }
  }
}
