// The datasets of one stage, read and matched to the model's classes by name before any training:
// the stage's own set (learn: its classes take the head's unused rows or new ones; forget: they must be
// the model's), the retain sets joined into one stream, and the sets to evaluate after each epoch.

public struct StageData {
  /// The learn or forget set, labelled with model rows.
  public let stageSet: LabeledImages
  /// The retain sets joined, labelled with model rows.
  public let retainSet: LabeledImages
  /// Named sets to evaluate after each epoch.
  public let evalSets: [(name: String, set: LabeledImages)]
  /// The model's classes after the stage: its own, with the learn set's new ones in its unused rows
  /// (nil) or after them.
  public let classes: [String?]
  /// The classes the learn set adds, in row order (none for forgetting).
  public let newClasses: [String]

  /// Reads and checks every set for `base`, whose (possibly adapted) model holds `classes`.
  public init(
    kind: StageKind, base: BaseModel, classes: [String?], stagePath: String, retainPaths: [String],
    evalSets: [(name: String, path: String)] = []
  ) throws {
    var classMap = ClassMap(names: classes)
    let stageFile = try base.loadDataset(stagePath)
    switch kind {
    case .learn:
      stageSet = try stageFile.relabeled(rows: try classMap.appendNew(stageFile.presentClasses, file: stagePath))
    case .forget: stageSet = try stageFile.labeled(by: classMap)
    }
    retainSet = LabeledImages.joined(try retainPaths.map { try base.loadDataset($0).labeled(by: classMap) })
    if kind == .forget, let both = Set(stageSet.labels).intersection(retainSet.labels).min() {
      throw SwapInputError(
        "class '\(classMap.names[both] ?? "")' is in both the forget set \(stagePath) and a retain set")
    }
    self.evalSets = try evalSets.map { (name: $0.name, set: try base.loadDataset($0.path).labeled(by: classMap)) }
    self.classes = classMap.names
    newClasses = classMap.names.indices.filter { $0 >= classes.count || classes[$0] == nil }
      .compactMap { classMap.names[$0] }
  }
}
