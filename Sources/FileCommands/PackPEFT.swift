// kswap-pack ADAPTER --peft-dir DIR: an adapter as a PEFT adapter directory, the way back to PyTorch
// (Formats/adapter.md, "PEFT export"; the Python side in kswap-pack(1)).

import TensorFile
import ToolSupport
import WeightSurgery

extension Pack {
  /// What an existing directory may hold for -f to replace it: what PEFT's save_pretrained writes.
  static let replaceablePEFTFiles: Set<String> = [AdapterFile.peftWeightsName, AdapterFile.peftConfigName, "README.md"]

  /// The options given that --peft-dir and --coco-dir cannot honour: they write the input as it is.
  var optionsBesideDirectoryExport: [String] {
    var given: [String] = []
    if output.output != nil { given.append("-o") }
    if compress { given.append("--compress") }
    if plain { given.append("--plain") }
    if level != nil { given.append("--level") }
    if dtype != nil { given.append("--dtype") }
    if !select.isEmpty { given.append("--select") }
    if !exclude.isEmpty { given.append("--exclude") }
    if !rename.isEmpty { given.append("--rename") }
    if !setMeta.isEmpty { given.append("--set-meta") }
    if !dropMeta.isEmpty { given.append("--drop-meta") }
    return given + importing.optionsGiven
  }

  /// Reads the adapter, writes DIR/adapter_model.safetensors (its LoRA matrices and full tensors, nothing
  /// else) and DIR/adapter_config.json into a temporary directory, and renames it into place.
  func exportPEFT(to directory: String) throws {
    try InputPath.check(input)
    let replaceable = output.force ? Self.replaceablePEFTFiles : nil
    try OutputDirectory.checkDestination(directory, replacing: replaceable, hint: "use -f to replace it")
    // Made before the input is read, as a streamed output file is: an interrupt while a pipe is read
    // must leave no trace either.
    let destination = try OutputDirectory(
      path: directory, files: [AdapterFile.peftWeightsName, AdapterFile.peftConfigName])
    let export: PEFTExport
    do {
      export = try PEFTExport(AdapterFile.load(path: input))
      try TensorWriter.write(
        path: destination.path(of: AdapterFile.peftWeightsName), metadata: export.metadata, tensors: export.tensors)
      let config = try OutputFile(path: destination.path(of: AdapterFile.peftConfigName))
      do {
        try config.write(Array((export.config.text(indent: 2) + "\n").utf8))
        try config.commit()
      } catch {
        config.discard()
        throw error
      }
      try destination.commit(replacing: replaceable)
    } catch {
      destination.discard()
      throw error
    }
    guard !quiet.quiet else { return }
    let modules = export.tensors.count { $0.info.name.hasSuffix(".lora_A.weight") }
    let saved = export.config["modules_to_save"]?.arrayValue?.compactMap(\.stringValue) ?? []
    Console.current.diagnostic(
      "\(Self.toolName): wrote \(escapeControlCharacters(directory)): PEFT adapter, LoRA on \(modules) "
        + "\(modules == 1 ? "module" : "modules")"
        + (saved.isEmpty ? "" : ", modules_to_save \(saved.joined(separator: ", "))"))
  }
}
