import Testing

@testable import Swap

@Suite struct ClassMapTests {
  @Test func knownClassesMapByNameWhateverTheirLabels() throws {
    let map = ClassMap(names: ["cat", "dog", "fox"])
    #expect(try map.knownRows(for: ["fox", "cat"], file: "d") == [2, 0])
    #expect(
      throws: SwapError(.mismatch, file: "d", "class 'cow' is not one of the model's 3 classes (cat, dog, fox)")
    ) { try map.knownRows(for: ["cow"], file: "d") }
  }

  @Test func learnClassesAreAppendedAfterTheModels() throws {
    var map = ClassMap(names: ["cat", "dog"])
    #expect(try map.appendNew(["7", "3"], file: "d") == [2, 3])
    #expect(map.names == ["cat", "dog", "7", "3"])
    #expect((#expect(throws: SwapError.self) { try map.appendNew(["dog"], file: "d") })?.kind == .mismatch)
  }

  @Test func learnClassesFillTheUnusedRowsFirst() throws {
    // The official head layout: rows 2-4 reserved (nil), no dataset class matches them.
    var map = ClassMap(names: ["cat", "dog", nil, nil, nil])
    #expect(map.unusedRows == [2, 3, 4])
    #expect((#expect(throws: SwapError.self) { try map.knownRows(for: ["2"], file: "d") })?.kind == .mismatch)
    #expect(try map.appendNew(["7", "3", "7"], file: "d") == [2, 3, 2])
    #expect(map.names == ["cat", "dog", "7", "3", nil])
    #expect(try map.knownRows(for: ["3", "cat"], file: "d") == [3, 0])
    // More new classes than unused rows: refused, not appended after the reserved block.
    #expect((#expect(throws: SwapError.self) { try map.appendNew(["x", "y"], file: "d") })?.kind == .mismatch)
    #expect(try map.appendNew(["x"], file: "d") == [4])
    // Once every slot is taken, new classes are appended (the compact layout).
    #expect(try map.appendNew(["y"], file: "d") == [5])
  }

  @Test func relabelingRefusesLabelsOutsideTheTable() throws {
    let images = LabeledImages(
      pixels: .bytes([0, 255, 0, 255]), labels: [1, 0], channels: 1, height: 1, width: 2,
      mean: [0.5], std: [0.5])
    #expect(try images.relabeled([7, 9], file: "d").labels == [9, 7])
    #expect((#expect(throws: SwapError.self) { try images.relabeled([7], file: "d") })?.kind == .invalidDataset)
    // Bytes are scaled to [0, 1], then normalised: (0 - 0.5) / 0.5 = -1, (1 - 0.5) / 0.5 = 1.
    #expect(images.batch([1, 0]).scalars == [-1, 1, -1, 1])
  }

  @Test func joiningSetsWithDifferentNormalisationKeepsEachOnesValues() {
    let a = LabeledImages(pixels: .bytes([255]), labels: [0], channels: 1, height: 1, width: 1, mean: [0], std: [1])
    let b = LabeledImages(
      pixels: .bytes([255]), labels: [1], channels: 1, height: 1, width: 1, mean: [0.5], std: [0.25])
    let joined = LabeledImages.joined([a, b])
    #expect(joined.labels == [0, 1])
    #expect(joined.batch([0, 1]).scalars == [1, 2])
  }
}
