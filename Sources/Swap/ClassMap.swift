// Matching datasets' classes to the model's head by name, so a dataset's label numbering never has to
// agree with the model's: retain and forget classes must already be in the model; learn classes are new
// and take the head's unused rows (the official head layout, --head-slots), or else get rows appended
// after the existing ones.

/// The model's class list plus the mapping of each dataset's labels onto it.
public struct ClassMap: Sendable, Equatable {
  /// The model's classes, head row order; nil for an unused row (a slot reserved for a new class, named
  /// `null` in a file's `classes`), which no dataset class ever matches. Changes when a learn set adds
  /// classes.
  public private(set) var names: [String?]

  public init(names: [String?]) { self.names = names }

  /// The rows that name no class.
  public var unusedRows: [Int] { names.indices.filter { names[$0] == nil } }

  /// Model row of each dataset label, for a set whose classes must all be known (retain, forget, eval).
  /// `datasetClasses` are the dataset's names for its labels 0, 1, ...; `file` names it in errors.
  public func knownRows(for datasetClasses: [String], file: String) throws -> [Int] {
    let named = names.compactMap { $0 }
    return try datasetClasses.map { name in
      guard let row = names.firstIndex(of: name) else {
        throw SwapError(
          .mismatch, file: file,
          "class '\(name)' is not one of the model's \(named.count) classes (\(Self.preview(named)))")
      }
      return row
    }
  }

  /// Gives the learn set's classes rows and returns the row of each of its labels: the unused rows in
  /// order when the head has any (then they must be enough), else new rows appended. A class the model
  /// already has is refused: it would be retained, not learned.
  public mutating func appendNew(_ datasetClasses: [String], file: String) throws -> [Int] {
    var free = unusedRows
    let fresh = Set(datasetClasses).subtracting(names.compactMap { $0 }).count
    if !free.isEmpty && fresh > free.count {
      throw SwapError(
        .mismatch, file: file,
        "\(fresh) new classes, but the model's head has only \(free.count) unused "
          + (free.count == 1 ? "row" : "rows") + " (reserved with --head-slots) to put them in")
    }
    var rows: [Int] = []
    for name in datasetClasses {
      if let row = rows.first(where: { names[$0] == name }) {
        rows.append(row)
        continue
      }
      if names.contains(name) {
        throw SwapError(
          .mismatch, file: file,
          "learn class '\(name)' is already one of the model's classes; pass it with --retain instead")
      }
      if free.isEmpty {
        names.append(name)
        rows.append(names.count - 1)
      } else {
        let row = free.removeFirst()
        names[row] = name
        rows.append(row)
      }
    }
    return rows
  }

  static func preview(_ names: [String]) -> String {
    names.count <= 12 ? names.joined(separator: ", ") : names.prefix(12).joined(separator: ", ") + ", ..."
  }
}

extension LabeledImages {
  /// The same images with each label replaced by `rows[label]`; refuses labels outside `rows`.
  public func relabeled(_ rows: [Int], file: String) throws -> LabeledImages {
    var copy = self
    for (i, label) in labels.enumerated() {
      guard label >= 0 && label < rows.count else {
        throw SwapError(
          .invalidDataset, file: file, "label \(label) of image \(i) is out of range 0..<\(rows.count) (its class list)"
        )
      }
      copy.labels[i] = rows[label]
    }
    return copy
  }
}
