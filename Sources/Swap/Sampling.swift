// Seeded, resumable batch orders and subsets.

import SeededRandom
import Tensors

/// Shuffled passes over `count` items in batches of `batchSize`; the last batch of a pass may be short
/// (PyTorch's DataLoader without drop_last). `cycling` reshuffles and starts a new pass when one is
/// exhausted, which is how the paper draws the learn or forget batch that goes with each retain batch.
public struct BatchOrder: Sendable, Equatable {
  public let count: Int
  public let batchSize: Int
  public private(set) var order: [Int]
  public private(set) var position: Int
  public var generator: SeededGenerator

  public init(count: Int, batchSize: Int, generator: SeededGenerator) {
    precondition(count > 0 && batchSize > 0)
    self.count = count
    self.batchSize = batchSize
    self.generator = generator
    order = Array(0..<count)
    position = count  // the first `next` shuffles
  }

  /// Restores a saved order (from a training state file).
  public init(count: Int, batchSize: Int, order: [Int], position: Int, generator: SeededGenerator) {
    self.count = count
    self.batchSize = batchSize
    self.order = order
    self.position = position
    self.generator = generator
  }

  /// Batches in one pass.
  public var batchesPerPass: Int { (count + batchSize - 1) / batchSize }

  /// Starts a new shuffled pass.
  public mutating func reshuffle() {
    order = Array(0..<count)
    generator.shuffle(&order)
    position = 0
  }

  /// The next batch's item indices; starts a new pass first when the current one is used up.
  public mutating func next() -> [Int] {
    if position >= count { reshuffle() }
    let end = min(position + batchSize, count)
    defer { position = end }
    return Array(order[position..<end])
  }
}

/// A seeded stratified subset: from each class, `fraction` of its items (rounded, at least one when the
/// class is present and fraction > 0), chosen at random. Returns indices in ascending order.
public func stratifiedSubset(labels: [Int], fraction: Double, generator: inout SeededGenerator) -> [Int] {
  guard fraction < 1 else { return Array(labels.indices) }
  var byClass: [Int: [Int]] = [:]
  for (i, label) in labels.enumerated() { byClass[label, default: []].append(i) }
  var chosen: [Int] = []
  for label in byClass.keys.sorted() {
    var members = byClass[label]!
    generator.shuffle(&members)
    let take = fraction > 0 ? max(1, Int((Double(members.count) * fraction).rounded())) : 0
    chosen += members.prefix(take)
  }
  return chosen.sorted()
}
