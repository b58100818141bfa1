// What kswap-diff found, independent of how the files were read: per-tensor changes against the
// reference (the first file), LoRA norms per module when the files are adapters, and their
// per-block roll-ups. Rendered as a table, JSON (Formats/diff-json.md) or an SVG chart.

public struct DiffReport: Sendable {
  public enum Mode: String, Sendable { case checkpoints, adapters }

  /// How a tensor of a later file relates to the reference's tensor of the same name.
  public enum Status: String, Sendable {
    case compared
    /// In the reference, not in this file.
    case missing
    /// In this file, not in the reference.
    case added
    case shapeDiffers = "shape_differs"
  }

  public struct Change: Sendable {
    public var status: Status
    public var sums: DiffSums
    public init(status: Status, sums: DiffSums = DiffSums()) {
      self.status = status
      self.sums = sums
    }
  }

  public struct TensorEntry: Sendable {
    public var name: String
    public var group: BlockGroup
    /// The shape in each file, nil where the file lacks the tensor.
    public var shapes: [[Int]?]
    /// One per later file (index 0 is files[1]).
    public var changes: [Change]
    public init(name: String, shapes: [[Int]?], changes: [Change]) {
      self.name = name
      self.group = BlockGroup(tensorName: name)
      self.shapes = shapes
      self.changes = changes
    }
  }

  /// Norms of one module's LoRA matrices in one adapter.
  public struct LoRANorms: Sendable, Equatable {
    public var rank: Int
    public var scale: Double
    public var aNorm: Double
    public var bNorm: Double
    /// ||scale * B A||_F
    public var deltaNorm: Double
    public init(rank: Int, scale: Double, aNorm: Double, bNorm: Double, deltaNorm: Double) {
      self.rank = rank
      self.scale = scale
      self.aNorm = aNorm
      self.bNorm = bNorm
      self.deltaNorm = deltaNorm
    }
    /// ||A||_F + ||B||_F: a module's share of the paper's per-block LoRA norm.
    public var normSum: Double { aNorm + bNorm }
  }

  public struct ModuleEntry: Sendable {
    public var module: String
    public var group: BlockGroup
    /// One per file, nil where the adapter has no LoRA on this module.
    public var norms: [LoRANorms?]
    public init(module: String, norms: [LoRANorms?]) {
      self.module = module
      self.group = BlockGroup(tensorName: module + ".")
      self.norms = norms
    }
  }

  public struct BlockEntry: Sendable {
    public var group: BlockGroup
    public var changes: [DiffSums]
    /// Adapters: per file, the sum of the block's ||A||_F + ||B||_F (nil when none).
    public var normSums: [Double?]
    /// Adapters: per file, sqrt(sum of the block's ||scale B A||_F^2).
    public var deltaNorms: [Double?]
  }

  public var mode: Mode
  public var files: [String]
  public var tensors: [TensorEntry] = []
  public var modules: [ModuleEntry] = []
  /// Largest absolute element difference `differs` tolerates.
  public var tolerance: Double = 0

  public init(mode: Mode, files: [String], tolerance: Double = 0) {
    self.mode = mode
    self.files = files
    self.tolerance = tolerance
  }

  /// True when some tensor is missing, added, reshaped, non-finite in one file only, or changed by
  /// more than `tolerance` anywhere.
  public var differs: Bool {
    tensors.contains { entry in
      entry.changes.contains { change in
        change.status != .compared || change.sums.maxAbsDifference > tolerance || change.sums.nonFinite > 0
      }
    }
  }

  /// Per-group roll-ups, in group order (embeddings, blocks by number, head, other).
  public var blocks: [BlockEntry] {
    let comparisons = max(files.count - 1, 0)
    var order: [BlockGroup] = []
    var sums: [BlockGroup: [DiffSums]] = [:]
    for entry in tensors {
      if sums[entry.group] == nil {
        order.append(entry.group)
        sums[entry.group] = Array(repeating: DiffSums(), count: comparisons)
      }
      for (i, change) in entry.changes.enumerated() where change.status == .compared {
        sums[entry.group]![i] = sums[entry.group]![i] + change.sums
      }
    }
    var normSums: [BlockGroup: [Double?]] = [:]
    var deltaSquares: [BlockGroup: [Double?]] = [:]
    for module in modules {
      if sums[module.group] == nil, normSums[module.group] == nil { order.append(module.group) }
      var n = normSums[module.group] ?? Array(repeating: nil, count: files.count)
      var d = deltaSquares[module.group] ?? Array(repeating: nil, count: files.count)
      for (i, norms) in module.norms.enumerated() {
        guard let norms else { continue }
        n[i] = (n[i] ?? 0) + norms.normSum
        d[i] = (d[i] ?? 0) + norms.deltaNorm * norms.deltaNorm
      }
      normSums[module.group] = n
      deltaSquares[module.group] = d
    }
    return order.sorted().map { group in
      BlockEntry(
        group: group, changes: sums[group] ?? Array(repeating: DiffSums(), count: comparisons),
        normSums: normSums[group] ?? Array(repeating: nil, count: files.count),
        deltaNorms: (deltaSquares[group] ?? Array(repeating: nil, count: files.count)).map { $0?.squareRoot() })
    }
  }
}
