// A set the swap stages train and evaluate on, of either task: images with a label each
// (classification) or with a class per pixel (segmentation). The trainer and the objective see only
// this, so one path trains both; the task picks the loss (cross-entropy per image row, or per pixel).

import TensorFile
import Tensors
import ViT

public enum SwapSet: Sendable {
  case labeled(LabeledImages)
  case segmented(SegmentedImages)

  public var task: DatasetLayout.Task {
    switch self {
    case .labeled: return .classification
    case .segmented: return .segmentation
    }
  }

  public var count: Int {
    switch self {
    case .labeled(let set): return set.count
    case .segmented(let set): return set.count
    }
  }

  /// The shape (count, C, H, W) of a batch of `count` images.
  public func batchShape(_ count: Int) -> [Int] {
    switch self {
    case .labeled(let set): return set.batchShape(count)
    case .segmented(let set): return set.batchShape(count)
    }
  }

  /// Writes the normalised images at `indices` into consecutive images of `destination` from image `offset`.
  public func write(_ indices: [Int], into destination: Tensor, at offset: Int = 0) {
    switch self {
    case .labeled(let set): set.write(indices, into: destination, at: offset)
    case .segmented(let set): set.write(indices, into: destination, at: offset)
    }
  }

  /// The task's loss of the items `indices`, whose logits are images `rows` of `logits` ((B, K) or
  /// (B, K, H, W)): `crossEntropy` of their labels, or `pixelCrossEntropy` of their masks. With a
  /// `gradient`, writes `weight` times d(loss)/d(logits) into those rows of it.
  public func loss(logits: Tensor, rows: Range<Int>, items indices: [Int], weight: Float = 1, gradient: Tensor? = nil)
    -> Float
  {
    switch self {
    case .labeled(let set):
      return crossEntropy(
        logits: logits, rows: rows, labels: indices.map { set.labels[$0] }, weight: weight, gradient: gradient)
    case .segmented(let set):
      return pixelCrossEntropy(
        logits: logits, images: rows, masks: set.maskBatch(indices), weight: weight, gradient: gradient)
    }
  }

  /// The model rows the set's targets name: its labels, or its mask values other than ignore; sorted.
  public var presentRows: [Int] {
    switch self {
    case .labeled(let set): return Array(Set(set.labels)).sorted()
    case .segmented(let set): return set.presentLabels
    }
  }

  /// Several sets of one task as one (the retain stream), each keeping its own normalisation.
  public static func joined(_ sets: [SwapSet]) -> SwapSet {
    precondition(!sets.isEmpty && sets.allSatisfy { $0.task == sets[0].task }, "joining sets of different tasks")
    switch sets[0] {
    case .labeled:
      return .labeled(LabeledImages.joined(sets.compactMap { if case .labeled(let s) = $0 { s } else { nil } }))
    case .segmented:
      return .segmented(SegmentedImages.joined(sets.compactMap { if case .segmented(let s) = $0 { s } else { nil } }))
    }
  }
}

extension BaseModel {
  /// The dataset at `path`, of this model's task (a set of the other task is refused, naming the file,
  /// its task and the model's), normalised for the model, its classes moved to `map`'s rows: every
  /// class must be one of `map`'s (retain, forget and evaluation sets).
  public func loadSet(_ path: String, labeledBy map: ClassMap) throws -> SwapSet {
    try requireTask(of: path)
    switch config.task {
    case .classification: return .labeled(try loadDataset(path).labeled(by: map))
    case .segmentation: return .segmented(try loadSegmentationDataset(path).labeled(by: map))
    case .detection: throw SwapError(.unsupported, file: self.path, ViTConfig.detectionNotBuilt)
    }
  }

  /// A learn set at `path`: as `loadSet`, except that the classes `map` lacks get rows (unused ones
  /// first, else new ones after the others: `ClassMap.appendNew`). A classification learn set holds
  /// only new classes; a segmentation one may hold known classes too (the background of new-class
  /// scenes, matched by name), and at least one new class.
  public func loadLearnSet(_ path: String, into map: inout ClassMap) throws -> SwapSet {
    try requireTask(of: path)
    switch config.task {
    case .classification:
      let file = try loadDataset(path)
      return .labeled(try file.relabeled(rows: try map.appendNew(file.presentClasses, file: path)))
    case .segmentation:
      let file = try loadSegmentationDataset(path)
      let known = Set(map.names.compactMap { $0 })
      guard file.presentClasses.contains(where: { !known.contains($0) }) else {
        throw SwapError(
          .mismatch, file: path,
          "every class in its masks (\(ClassMap.preview(file.presentClasses))) is already one of the "
            + "model's; a learn set brings at least one new class")
      }
      return .segmented(try file.learning(into: &map))
    case .detection: throw SwapError(.unsupported, file: self.path, ViTConfig.detectionNotBuilt)
    }
  }

  /// Refuses a dataset whose task is not the model's, naming the file, its task and the model's.
  func requireTask(of path: String) throws {
    let found = try DatasetFile.task(of: path)
    guard found != config.task else { return }
    throw SwapError(
      .wrongFile, file: path,
      "\(DatasetFile.described(found)); \(self.path) is a \(config.task.rawValue) model, which takes "
        + DatasetFile.described(config.task))
  }
}
