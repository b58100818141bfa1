// kswap-pack --peft-dir's contents: adapter_config.json with what PEFT needs and kswap's values, the
// adapter's LoRA matrices and full tensors and nothing else, and the refusals for what PEFT cannot carry.
// (Tests/CLI/pack/peft-export.sh checks the result against PEFT and timm's logits.)

import TensorFile
import Testing
import WeightSurgery

@Suite struct PEFTExportTests {
  func tensor(_ name: String, _ shape: [Int]) throws -> (TensorInfo, [UInt8]) {
    let values = (0..<shape.reduce(1, *)).map { Float($0) / 8 }
    return (
      try TensorInfo(name: name, dtype: .f32, shape: shape),
      try FloatConversion.bytes(from: values, dtype: .f32, file: "t", tensor: name)
    )
  }

  /// LoRA of rank 2 on `modules` (4 -> 4), plus `full` tensors of shape (3, 4).
  func adapter(_ metadata: [String: String], modules: [String], ranks: [Int]? = nil, full: [String] = [])
    throws -> AdapterFile
  {
    var tensors: [(TensorInfo, [UInt8])] = []
    for (index, module) in modules.enumerated() {
      let rank = ranks?[index] ?? 2
      tensors.append(try tensor(AdapterNames.loraA(module), [rank, 4]))
      tensors.append(try tensor(AdapterNames.loraB(module), [4, rank]))
    }
    for name in full { tensors.append(try tensor(AdapterNames.full(name), name.hasSuffix("bias") ? [3] : [3, 4])) }
    return try AdapterFile(source: "a.safetensors", metadata: metadata, tensors: tensors, configPath: nil)
  }

  @Test func aKswapAdapterExportsItsSettingsAndOnlyItsPEFTTensors() throws {
    var settings = LoRASettings(rank: 2, alpha: 4)
    settings.targetModules = ["mlp.fc1"]
    settings.modulesToSave = ["head"]
    var metadata = settings.metadata
    metadata["classes"] = #"["a","b","c"]"#
    metadata["kswap.training"] = #"{"stage":"learn"}"#
    metadata["kswap.base_fingerprint"] = "fnv1a64:0123456789abcdef"
    metadata["kswap.optimizer_step"] = "40"
    metadata["note"] = "not carried"
    let export = try PEFTExport(
      adapter(metadata, modules: ["blocks.0.mlp.fc1", "blocks.1.mlp.fc1"], full: ["head.weight", "head.bias"]))
    #expect(
      export.config.text(indent: 2) == """
        {
          "alpha_pattern": {},
          "base_model_name_or_path": null,
          "bias": "none",
          "fan_in_fan_out": false,
          "inference_mode": true,
          "init_lora_weights": true,
          "lora_alpha": 4,
          "lora_bias": false,
          "lora_dropout": 0,
          "modules_to_save": [
            "head"
          ],
          "peft_type": "LORA",
          "r": 2,
          "rank_pattern": {},
          "target_modules": [
            "mlp.fc1"
          ],
          "task_type": null,
          "use_dora": false,
          "use_rslora": false
        }
        """)
    #expect(
      export.tensors.map(\.info.name) == [
        "base_model.model.blocks.0.mlp.fc1.lora_A.weight", "base_model.model.blocks.0.mlp.fc1.lora_B.weight",
        "base_model.model.blocks.1.mlp.fc1.lora_A.weight", "base_model.model.blocks.1.mlp.fc1.lora_B.weight",
        "base_model.model.head.weight", "base_model.model.head.bias",
      ])
    #expect(try export.tensors[0].bytes == tensor("x", [2, 4]).1)
    #expect(export.metadata["format"] == "pt")
    #expect(export.metadata["classes"] == #"["a","b","c"]"#)
    #expect(export.metadata["kswap.training"] == #"{"stage":"learn"}"#)
    #expect(export.metadata["kswap.base_fingerprint"] == "fnv1a64:0123456789abcdef")
    #expect(export.metadata["kswap.optimizer_step"] == nil && export.metadata["note"] == nil)
    #expect(try LoRASettings(metadata: export.metadata, file: "e") == settings)
  }

  @Test func targetsAreTheModulesByNameWhenTheListMissesOne() throws {
    var settings = LoRASettings(rank: 2, alpha: 1)
    settings.targetModules = ["fc2"]  // "fc2" does not name blocks.0.mlp.fc1 by PEFT's rule
    let export = try PEFTExport(adapter(settings.metadata, modules: ["blocks.1.mlp.fc1", "blocks.0.mlp.fc1"]))
    #expect(export.config["target_modules"] == .array([.string("blocks.0.mlp.fc1"), .string("blocks.1.mlp.fc1")]))
    #expect(export.config["modules_to_save"] == .null)
    settings.targetModules = ["fc1"]  // a suffix after a dot: kept
    let listed = try PEFTExport(adapter(settings.metadata, modules: ["blocks.0.mlp.fc1"]))
    #expect(listed.config["target_modules"] == .array([.string("fc1")]))
  }

  @Test func patternsRSLoRAAndAMissingRCarryOver() throws {
    var settings = LoRASettings(rank: nil, alpha: 3, useRSLoRA: true)
    settings.targetModules = ["fc1", "fc2"]
    settings.alphaPattern = [("fc2", 5)]
    let export = try PEFTExport(adapter(settings.metadata, modules: ["blocks.0.mlp.fc1", "blocks.0.mlp.fc2"]))
    #expect(export.config["r"] == .integer(2))  // from the matrices
    #expect(export.config["use_rslora"] == .bool(true))
    #expect(export.config["alpha_pattern"] == .object([("fc2", .number(5))]))
    settings.rank = 2
    settings.rankPattern = [("fc2", 1)]
    let patterned = try PEFTExport(
      adapter(settings.metadata, modules: ["blocks.0.mlp.fc1", "blocks.0.mlp.fc2"], ranks: [2, 1]))
    #expect(patterned.config["rank_pattern"] == .object([("fc2", .integer(1))]))
  }

  @Test func whatPEFTCannotCarryIsRefused() throws {
    let settings = LoRASettings(rank: 2, alpha: 1).metadata
    #expect(
      throws: SurgeryError(
        .unsupported, "a.safetensors", tensor: "base_model.model.cls_token",
        "PEFT carries full tensors as whole modules (modules_to_save); 'cls_token' is not a module's parameter")
    ) { try PEFTExport(adapter(settings, modules: ["blocks.0.mlp.fc1"], full: ["cls_token"])) }
    #expect(
      throws: SurgeryError(
        .unsupported, "a.safetensors", "holds no LoRA matrices; a PEFT LoRA adapter needs at least one")
    ) {
      try PEFTExport(adapter(settings, modules: [], full: ["head.weight"]))
    }
    let noRank = LoRASettings(alpha: 1).metadata
    #expect(
      throws: SurgeryError(
        .unsupported, "a.safetensors", "its modules have ranks [1, 2] and its settings give no r to write")
    ) { try PEFTExport(adapter(noRank, modules: ["blocks.0.mlp.fc1", "blocks.0.mlp.fc2"], ranks: [2, 1])) }
  }
}
