// What kswap-pack will write: which tensors, under which names and dtypes, with which metadata.

import ArgumentParser
import Foundation
import TensorFile
import ToolSupport

/// A rename rule `FROM=TO`: FROM is a regular expression, TO its replacement (`$1` for groups).
struct RenameRule {
  let pattern: String
  let expression: NSRegularExpression
  let template: String

  /// Parses `FROM=TO`, split at the first '='; nil with a reason when it is malformed.
  init(_ text: String) throws {
    guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
      throw ValidationError("--rename expects FROM=TO (a regular expression and its replacement), got '\(text)'")
    }
    pattern = String(text[..<equals])
    template = String(text[text.index(after: equals)...])
    do {
      expression = try NSRegularExpression(pattern: pattern)
    } catch {
      throw ValidationError("--rename '\(text)': '\(pattern)' is not a valid regular expression")
    }
  }

  func apply(_ name: String) -> String {
    expression.stringByReplacingMatches(
      in: name, range: NSRange(name.startIndex..., in: name), withTemplate: template)
  }
}

/// One tensor to write: where it comes from and what it becomes.
struct PlannedTensor {
  let source: TensorInfo
  let output: TensorInfo
}

/// The tensors and metadata of the output, derived from the source and the options.
struct PackPlan {
  var tensors: [PlannedTensor]
  var metadata: [String: String]

  /// Applies, in this order: --select/--exclude (on the source names), --rename (each rule in turn),
  /// --dtype, --drop-meta, --set-meta.
  init(
    source: PackSource, file: String, select: [Glob], exclude: [Glob], rename: [RenameRule],
    dtype: DType?, convertIntegers: Bool, dropMeta: [String], setMeta: [(String, String)]
  ) throws {
    for glob in select where !source.tensors.contains(where: { glob.matches($0.name) }) {
      throw ToolError(.option, file: file, "--select '\(glob.pattern)' matches no tensor")
    }
    var plan: [PlannedTensor] = []
    var sourceOfName: [String: String] = [:]
    for info in source.tensors {
      if !select.isEmpty && !select.contains(where: { $0.matches(info.name) }) { continue }
      if exclude.contains(where: { $0.matches(info.name) }) { continue }
      let name = rename.reduce(info.name) { $1.apply($0) }
      if name.isEmpty {
        throw ToolError(
          .option, file: file, "tensor '\(escapeControlCharacters(info.name))': --rename leaves an empty name")
      }
      if let other = sourceOfName.updateValue(info.name, forKey: name) {
        throw ToolError(
          .option, file: file,
          "tensors '\(escapeControlCharacters(other))' and '\(escapeControlCharacters(info.name))' would both be named '\(escapeControlCharacters(name))' after --rename"
        )
      }
      let outputType =
        dtype.flatMap { target in
          PackPlan.converts(info.dtype, convertIntegers: convertIntegers) ? target : nil
        } ?? info.dtype
      let output = try TensorInfo(name: name, dtype: outputType, shape: info.shape, file: file)
      plan.append(PlannedTensor(source: info, output: output))
    }
    var metadata = source.metadata
    for key in dropMeta { metadata[key] = nil }
    for (key, value) in setMeta { metadata[key] = value }
    self.tensors = plan
    self.metadata = metadata
  }

  /// Whether `--dtype` applies to a tensor of `dtype`: floats always; integers and BOOL only with
  /// --convert-integers; the opaque F8/F6/F4 and C64 types never (kswap does not decode them).
  static func converts(_ dtype: DType, convertIntegers: Bool) -> Bool {
    if dtype.isConvertibleFloat { return true }
    return convertIntegers && (dtype.isInteger || dtype == .bool)
  }
}
