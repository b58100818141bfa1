// The datasets of one stage, read and matched to the model's classes by name before any training:
// the stage's own set (learn: its new classes take the head's unused rows or new ones; forget: they
// must be the model's), the retain sets joined into one stream, and the sets to evaluate after each
// epoch. Every set is of the model's task: labelled images for a classifier, segmented images for a
// segmentation model.

public struct StageData {
  /// The learn or forget set, labelled with model rows.
  public let stageSet: SwapSet
  /// The retain sets joined, labelled with model rows.
  public let retainSet: SwapSet
  /// Named sets to evaluate after each epoch.
  public let evalSets: [(name: String, set: SwapSet)]
  /// The model's classes after the stage: its own, with the learn set's new ones in its unused rows
  /// (nil) or after them.
  public let classes: [String?]
  /// The classes the learn set adds, in row order (none for forgetting).
  public let newClasses: [String]
  /// Forgetting: the classes the forget term acts on, in row order. A classification forget set's
  /// classes are all forgotten (none may be in a retain set). A segmentation forget set's classes that
  /// a retain set also holds (the background of its scenes) are kept, not forgotten: their pixels count
  /// in no term of the stage (ignored in the forget set's masks) and they are listed in `keptClasses`.
  public let forgottenClasses: [String]
  /// Forgetting a segmentation set: its classes that a retain set holds too, in row order.
  public let keptClasses: [String]

  /// Reads and checks every set for `base`, whose (possibly adapted) model holds `classes`.
  public init(
    kind: StageKind, base: BaseModel, classes: [String?], stagePath: String, retainPaths: [String],
    evalSets: [(name: String, path: String)] = []
  ) throws {
    var classMap = ClassMap(names: classes)
    var stageSet: SwapSet
    switch kind {
    case .learn: stageSet = try base.loadLearnSet(stagePath, into: &classMap)
    case .forget: stageSet = try base.loadSet(stagePath, labeledBy: classMap)
    }
    retainSet = SwapSet.joined(try retainPaths.map { try base.loadSet($0, labeledBy: classMap) })
    var forgotten: [Int] = [], kept: [Int] = []
    if kind == .forget {
      let retained = Set(retainSet.presentRows)
      (kept, forgotten) = (
        stageSet.presentRows.filter(retained.contains), stageSet.presentRows.filter { !retained.contains($0) }
      )
      switch stageSet {
      case .labeled:
        if let both = kept.first {
          throw SwapError(
            .mismatch,
            "class '\(classMap.names[both] ?? "")' is in both the forget set \(stagePath) and a retain set")
        }
      case .segmented(let set):
        guard !forgotten.isEmpty else {
          throw SwapError(
            .mismatch, file: stagePath,
            "every class in its masks (\(ClassMap.preview(kept.map { classMap.names[$0] ?? "" }))) "
              + "is in a retain set too; nothing would be forgotten")
        }
        stageSet = .segmented(set.ignoring(rows: kept))
      }
    }
    self.stageSet = stageSet
    self.evalSets = try evalSets.map { (name: $0.name, set: try base.loadSet($0.path, labeledBy: classMap)) }
    self.classes = classMap.names
    newClasses = classMap.names.indices.filter { $0 >= classes.count || classes[$0] == nil }
      .compactMap { classMap.names[$0] }
    forgottenClasses = forgotten.map { classMap.names[$0] ?? "" }
    keptClasses = kept.map { classMap.names[$0] ?? "" }
  }
}
