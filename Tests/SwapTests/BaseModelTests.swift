import Foundation
import TensorFile
import Testing
import ViT
import WeightSurgery

@testable import Swap

/// Tests/Fixtures/checkpoints (Scripts/make-checkpoint-fixtures.py): checkpoints without kswap
/// metadata in every layout and container. Their logits against PyTorch's are Tests/CLI/eval's job;
/// these check what BaseModel takes from where.
@Suite struct BaseModelTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")
  static func fixture(_ path: String) -> String { fixtures.appendingPathComponent(path).path }
  static let classes = ["ant", "bee", "cat", "dog"]

  /// Formats/adapter.md's fingerprint as kswap-merge takes it: streamed over the stored tensors.
  static func streamedFingerprint(_ path: String) throws -> String {
    var fingerprint = BaseFingerprint()
    let reader = try TensorReader(path: path)
    try reader.forEachTensor { info, bytes in
      let values = try FloatConversion.floats(from: bytes, dtype: info.dtype, file: path, tensor: info.name)
      fingerprint.add(name: info.name, shape: info.shape, sample: Array(values.prefix(BaseFingerprint.sampleCount)))
    }
    return fingerprint.value
  }

  @Test func timmStateDictTakesTheFlags() throws {
    let overrides = ModelOverrides(heads: 2, mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3], classes: Self.classes)
    let base = try BaseModel(path: Self.fixture("checkpoints/timm.safetensors"), overrides: overrides)
    #expect(base.layout == .timm)
    #expect(
      base.config
        == ViTConfig(imageSize: 12, patchSize: 4, channels: 3, dim: 24, depth: 2, heads: 2, mlpDim: 48, classes: 4))
    #expect(base.classes == Self.classes && base.mean == [0.4, 0.5, 0.6] && base.std == [0.2, 0.25, 0.3])
    #expect(base.fingerprint == (try Self.streamedFingerprint(Self.fixture("checkpoints/timm.safetensors"))))
  }

  @Test func shardedTimmCheckpointReadsTimmsConfig() throws {
    let folder = try BaseModel(path: Self.fixture("checkpoints/timm-sharded"))
    let index = try BaseModel(path: Self.fixture("checkpoints/timm-sharded/model.safetensors.index.json"))
    let plain = try BaseModel(
      path: Self.fixture("checkpoints/timm.safetensors"),
      overrides: ModelOverrides(heads: 2, mean: [0, 0, 0], std: [1, 1, 1]))
    for base in [folder, index] {
      #expect(base.config == plain.config && base.classes == Self.classes)
      #expect(base.mean == [0.485, 0.456, 0.406] && base.std == [0.229, 0.224, 0.225])
      // The same tensors under the same names: the same base, whether sharded or not.
      #expect(base.fingerprint == plain.fingerprint)
    }
  }

  @Test func huggingFaceFolderReadsItsConfigs() throws {
    let base = try BaseModel(path: Self.fixture("checkpoints/hf-vit"))
    #expect(base.layout == .huggingFaceViT)
    #expect(
      base.config
        == ViTConfig(
          imageSize: 12, patchSize: 4, channels: 3, dim: 24, depth: 2, heads: 3, mlpDim: 40, classes: 4,
          layerNormEps: 1e-12))
    #expect(base.classes == Self.classes && base.mean == [0.5, 0.4, 0.3] && base.std == [0.25, 0.2, 0.3])
    #expect(base.fingerprint == (try Self.streamedFingerprint(Self.fixture("checkpoints/hf-vit/model.safetensors"))))
    // Flags win over the files.
    let overridden = try BaseModel(
      path: Self.fixture("checkpoints/hf-vit"),
      overrides: ModelOverrides(heads: 1, mean: [0, 0, 0], std: [1, 1, 1], classes: ["a", "b", "c", "d"]))
    #expect(
      overridden.config.heads == 1 && overridden.mean == [0, 0, 0] && overridden.classes == ["a", "b", "c", "d"])
  }

  @Test func pyTorchStateDictUsesTheLayoutsEpsilon() throws {
    let base = try BaseModel(
      path: Self.fixture("checkpoints/hf-vit.bin"),
      overrides: ModelOverrides(heads: 2, mean: [0.3, 0.3, 0.3], std: [0.3, 0.4, 0.5]))
    #expect(base.layout == .huggingFaceViT && base.config.layerNormEps == 1e-12 && base.config.mlpDim == 48)
    #expect(base.classes == ["0", "1", "2", "3"])
  }

  @Test func dinov2WithAHead() throws {
    let base = try BaseModel(
      path: Self.fixture("checkpoints/dinov2-head.safetensors"),
      overrides: ModelOverrides(heads: 4, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]))
    #expect(base.layout == .dinov2 && base.config.layerScale && base.config.classes == 4)
    #expect(base.config.layerNormEps == 1e-6)
  }

  @Test func backboneIsRefusedUnlessAsked() throws {
    let path = Self.fixture("vit-tiny-dinov2/model.safetensors")
    let overrides = ModelOverrides(mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
    let error = #expect(throws: SwapError.self) { try BaseModel(path: path, overrides: overrides) }
    #expect(error?.kind == .wrongFile && error?.file == path)
    #expect(error?.description.contains("a backbone without a classification head; fit one first") == true)
    #expect(error?.description.contains("kswap-pretrain --backbone \(path) --train DATA -o MODEL") == true)
    let backbone = try BaseModel(path: path, overrides: overrides, requireHead: false)
    #expect(backbone.config.classes == 0 && backbone.classes.isEmpty && backbone.config.heads == 2)
  }

  @Test func kswapModelsKeepTheirFingerprintAndDefaults() throws {
    let base = try BaseModel(path: Self.fixture("swap-step/model.safetensors"))
    // Formats/adapter.md's Python over this file (the fingerprint adapters trained on it carry).
    #expect(base.fingerprint == "fnv1a64:d2f9fdde90f2bb7d")
    #expect(base.mean == [0.5, 0.5, 0.5] && base.std == [0.5, 0.5, 0.5] && base.layout == .timm)
    // A config.json beside a kswap model is someone else's: not read.
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kswap-beside-\(getpid())").path
    try? FileManager.default.removeItem(atPath: folder)
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try FileManager.default.copyItem(atPath: base.path, toPath: folder + "/model.safetensors")
    try #"{"model_type": "bert", "hidden_size": 768}"#.write(
      toFile: folder + "/config.json", atomically: false, encoding: .utf8)
    #expect(try BaseModel(path: folder + "/model.safetensors").fingerprint == base.fingerprint)
  }

  /// Tests/Fixtures/vit-tiny-detection (Scripts/make-detection-fixture.py): a detection model is a base
  /// like the others, its box branch part of its weights; a classification set is refused for it.
  @Test func detectionModelLoadsWithItsBoxBranch() throws {
    let base = try BaseModel(path: Self.fixture("vit-tiny-detection/model.safetensors"))
    #expect(base.config.task == .detection && base.config.classes == 3 && base.classes == ["cat", "dog", "car"])
    #expect(base.tensors["box_head.weight"]?.shape == [5, 32] && base.tensors["box_head.bias"]?.shape == [5])
    let model = try base.makeModel()
    #expect(model.boxHead?.outFeatures == 5 && model.config.task == .detection)
    // Saved again, it is the same model: the same tensors, the same fingerprint, the same task.
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kswap-det-base-\(getpid()).safetensors")
      .path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Checkpoint.saveModel(
      model, to: path, metadata: [SwapMetadata.classes: SwapMetadata.array(["cat", "dog", "car"])])
    let again = try BaseModel(path: path)
    #expect(again.config == base.config && again.classes == base.classes && again.fingerprint == base.fingerprint)
    #expect(again.tensors.keys.sorted() == base.tensors.keys.sorted())
    for (name, tensor) in base.tensors { #expect(again.tensors[name]?.scalars == tensor.scalars, "\(name)") }
    let images = Self.fixture("checkpoints/images.safetensors")
    let error = #expect(throws: SwapError.self) {
      try base.loadSet(images, labeledBy: ClassMap(names: base.classes))
    }
    #expect(error?.kind == .wrongFile)
    #expect(
      error?.description
        == "\(images): a classification dataset (one label per image); \(base.path) is a detection model, which "
        + "takes a detection dataset (metadata task 'detection', boxes per image)")
  }

  @Test func silentNormalisationIsRefused() throws {
    let error = #expect(throws: SwapError.self) {
      try BaseModel(path: Self.fixture("checkpoints/timm.safetensors"), overrides: ModelOverrides(heads: 2))
    }
    #expect(error?.kind == .missingSetting)
    #expect(error?.description.contains("the input normalisation is unknown") == true)
    #expect(error?.description.contains("give --mean and --std") == true)
  }

  @Test func configFilesAreReadAndChecked() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kswap-config-\(getpid())").path
    try? FileManager.default.removeItem(atPath: folder)
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    func write(_ text: String) throws {
      try text.write(toFile: folder + "/config.json", atomically: false, encoding: .utf8)
    }
    try write(
      """
      {"model_type": "vit", "hidden_size": 24, "num_attention_heads": 3, "layer_norm_eps": 1e-05,
       "image_size": [12, 12], "id2label": {"1": "LABEL_1", "0": "LABEL_0"}}
      """)
    var config = try CheckpointConfig(folder: folder)
    #expect(config.heads == 3 && config.layerNormEps == 1e-5 && config.classes == nil && config.mean == nil)
    #expect(config.stated.map(\.key) == ["hidden_size", "image_size"])
    try write(#"{"id2label": {"0": "ant", "1": "bee"}, "pretrained_cfg": {"mean": [0.1], "std": [0.2]}}"#)
    config = try CheckpointConfig(folder: folder)
    #expect(config.classes == ["ant", "bee"] && config.mean == [0.1] && config.std == [0.2])
    try "{\"image_mean\": [0.7], \"image_std\": [0.8]}".write(
      toFile: folder + "/preprocessor_config.json", atomically: false, encoding: .utf8)
    #expect(try CheckpointConfig(folder: folder).mean == [0.1])  // config.json's come first
    try write(#"{"model_args": {"num_heads": 6, "embed_dim": 384}, "label_names": ["x"]}"#)
    config = try CheckpointConfig(folder: folder)
    #expect(config.heads == 6 && config.classes == ["x"] && config.mean == [0.7] && config.std == [0.8])
    for (text, kind, problem) in [
      (#"{"hidden_act": "gelu_new"}"#, SwapError.Kind.unsupported, "exact GELU"),
      (#"{"global_pool": "avg"}"#, .unsupported, "class token"),
      (#"{"model_type": "bert"}"#, .unsupported, "not a ViT"),
      (#"{"id2label": {"0": "a", "2": "b"}}"#, .invalidModel, "id2label"),
      (#"{"num_attention_heads": "six"}"#, .invalidModel, "num_attention_heads"), ("[1]", .invalidModel, "object"),
    ] {
      try write(text)
      let error = #expect(throws: SwapError.self, "\(text)") { try CheckpointConfig(folder: folder) }
      #expect(error?.kind == kind && error?.file == folder + "/config.json", "\(text)")
      #expect(error?.message.contains(problem) == true, "\(String(describing: error))")
    }
    // The JSON itself is the tensor-file layer's: syntax, and a size cap before the file is read.
    try write("{")
    #expect(
      throws: TensorFileError(
        .invalidJSON, file: folder + "/config.json", "invalid JSON: key must be a string at byte 1")
    ) { try CheckpointConfig(folder: folder) }
    try write("{}" + String(repeating: " ", count: JSON.maxFileSize))
    let large = #expect(throws: TensorFileError.self) { try CheckpointConfig(folder: folder) }
    #expect(large?.kind == .limitExceeded && large?.file == folder + "/config.json")
    try write(#"{"hidden_size": 48}"#)
    let stated = try CheckpointConfig(folder: folder)
    let error = #expect(throws: SwapError.self) {
      try stated.check(ViTConfig(imageSize: 12, patchSize: 4, dim: 24, depth: 2, heads: 2, classes: 4))
    }
    #expect(error == SwapError(.mismatch, file: folder + "/config.json", "hidden_size is 48, the weights say 24"))
  }
}
