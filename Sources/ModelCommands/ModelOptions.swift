// The options kswap-eval, kswap-learn and kswap-forget share for a model file that does not say
// everything about itself (a plain timm or Hugging Face checkpoint): heads, normalisation, class names.

import ArgumentParser
import Foundation
import Swap
import ToolSupport

/// The help of the model operand of kswap-eval, kswap-learn and kswap-forget.
let modelArgumentHelp =
  "The model: a kswap ViT, or a timm, Hugging Face ViT or DINOv2 checkpoint (safetensors, a sharded index, .kst, PyTorch .bin/.pth, or a folder holding one)."

/// `--heads`, `--mean`, `--std`, `--class-names`: what a checkpoint without kswap metadata may not
/// say, each winning over the file and its config.json (Swap's `BaseModel` lists the sources).
struct ModelOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Attention heads of the model. Default: the file's metadata or config.json, else width / 64.",
      valueName: "n"))
  var heads: Int?

  @Option(
    help: ArgumentHelp(
      "Per-channel input mean on the [0, 1] scale, comma-separated. Default: the file's metadata, config.json or preprocessor_config.json.",
      valueName: "a,b,c"))
  var mean: String?

  @Option(
    help: ArgumentHelp(
      "Per-channel input std on the [0, 1] scale, comma-separated. Default: as for --mean.", valueName: "a,b,c"))
  var std: String?

  @Option(
    name: .customLong("class-names"),
    help: ArgumentHelp(
      "The model's class names in head-row order: a file of one name per line, else a comma-separated list. Default: the file's metadata or config.json, else the row numbers.",
      valueName: "file|list"))
  var classNames: String?

  func validate() throws {
    if let heads, heads < 1 { throw ValidationError("--heads must be at least 1") }
    for (flag, value) in [("--mean", mean), ("--std", std)] {
      if let value, parseNumbers(value) == nil {
        throw ValidationError("\(flag) expects comma-separated finite numbers, got '\(value)'")
      }
    }
    if let classNames, classNames.isEmpty { throw ValidationError("--class-names needs a file or a list") }
  }

  /// The flags as overrides for `BaseModel`; reads the --class-names file.
  func overrides() throws -> ModelOverrides {
    ModelOverrides(
      heads: heads, mean: mean.flatMap(parseNumbers)?.map(Float.init), std: std.flatMap(parseNumbers)?.map(Float.init),
      classes: try classNames.map(Self.classList))
  }

  /// The names in the file `value` names (one per line, empty lines skipped), else the
  /// comma-separated list `value` is. A single name that is no file is taken for a missing file.
  static func classList(_ value: String) throws -> [String] {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: value, isDirectory: &isFolder), !isFolder.boolValue else {
      guard value.contains(",") else {
        throw ToolError(.option, "--class-names \(value): no such file (a list of names is comma-separated)")
      }
      return value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
    guard let data = FileManager.default.contents(atPath: value) else {
      throw ToolError.system(value, "reading the class names")
    }
    let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
    let names = lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    guard !names.isEmpty else { throw ToolError(.input, file: value, "no class names in the file") }
    return names
  }
}
