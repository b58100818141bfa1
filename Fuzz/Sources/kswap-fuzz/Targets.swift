// The fuzz targets. Each hands libFuzzer's bytes to one reader the way a stranger's file reaches it,
// reads everything the reader then offers, and takes a thrown error as a right answer. A trap, a
// sanitizer report, a hang, running out of memory or a failed round trip (a value the reader accepts
// that kswap's own writer does not reproduce) is a finding: it becomes a regression test in the normal
// suite and a fix (Benchmarks/fuzz.md).

import Foundation
import ViT
import WeightSurgery

@testable import Importers
@testable import Swap
@testable import TensorFile

struct FuzzTarget: Sendable {
  let name: String
  let summary: String
  let run: @Sendable ([UInt8]) -> Void

  nonisolated(unsafe) static var selected: FuzzTarget?

  static let all: [FuzzTarget] = [
    FuzzTarget(
      name: "json", summary: "TensorFile's JSON parser; a value it accepts prints and parses back equal",
      run: fuzzJSON),
    FuzzTarget(
      name: "safetensors-header", summary: "the safetensors header alone; an accepted header re-encodes to itself",
      run: fuzzSafetensorsHeader),
    FuzzTarget(
      name: "safetensors", summary: "TensorReader on a file and on a pipe: header, offsets, data, conversions",
      run: { readTensorFile($0) }),
    FuzzTarget(
      name: "kst",
      summary: "TensorReader on a .kst container: preamble, header, index, records, zstd frames, checksums",
      run: { bytes in
        readTensorFile(bytes)
        // The same bytes with the header and index checksums made right, so mutations get past them.
        let fixed = withKstChecksumsFixed(bytes)
        if fixed != bytes { readTensorFile(fixed) }
      }),
    FuzzTarget(
      name: "sharded-index", summary: "a model.safetensors.index.json beside two valid shards", run: fuzzShardedIndex),
    FuzzTarget(name: "pickle", summary: "the pickle interpreter alone", run: fuzzPickle),
    FuzzTarget(
      name: "torch-pickle", summary: "a fuzzed data.pkl in a valid torch.save zip: tensor rebuilds, views, storages",
      run: fuzzTorchPickle),
    FuzzTarget(name: "torch-zip", summary: "TorchCheckpoint on a whole fuzzed zip", run: fuzzTorchZip),
    FuzzTarget(name: "zip", summary: "zip members through libarchive (wheels, .npz, checkpoints)", run: fuzzZip),
    FuzzTarget(
      name: "decompress", summary: "whole-file decompression (gzip, bzip2, xz, zstd) through libarchive",
      run: fuzzDecompress),
    FuzzTarget(name: "npy", summary: ".npy arrays: header dict, dtypes, Fortran order, conversions", run: fuzzNpy),
    FuzzTarget(name: "npz", summary: ".npz archives of .npy members", run: fuzzNpz),
    FuzzTarget(name: "idx", summary: "IDX arrays and datasets made of them", run: fuzzIDX),
    FuzzTarget(name: "csv", summary: "CSV image tables with every label-column and shape option", run: fuzzCSV),
    FuzzTarget(name: "png", summary: "PNG decoding (libpng) to grey and RGB", run: fuzzImage),
    FuzzTarget(name: "jpeg", summary: "JPEG decoding (libjpeg) to grey and RGB", run: fuzzImage),
    FuzzTarget(
      name: "tiff", summary: "TIFF decoding (kswap's reader) to grey and RGB, and as a mask of class values",
      run: fuzzTIFF),
    FuzzTarget(
      name: "adapter-config", summary: "adapter_config.json: LoRA settings, patterns, scales, a PEFT directory",
      run: fuzzAdapterConfig),
    FuzzTarget(name: "adapter", summary: "an adapter weight file and the settings in its metadata", run: fuzzAdapter),
    FuzzTarget(
      name: "checkpoint-config", summary: "config.json and preprocessor_config.json beside a checkpoint",
      run: fuzzCheckpointConfig),
    FuzzTarget(
      name: "metadata-json", summary: "JSON in __metadata__: dataset classes, mean, std, vit_config, class names",
      run: fuzzMetadataJSON),
    FuzzTarget(
      name: "dataset-file", summary: "the dataset validator on files built from fuzzed shapes, dtypes, labels, classes",
      run: fuzzDatasetFile),
    FuzzTarget(
      name: "detection-file",
      summary: "both detection dataset readers on files built from fuzzed boxes, labels, offsets, classes",
      run: fuzzDetectionFile),
    FuzzTarget(
      name: "coco-instances", summary: "a COCO instances JSON beside one 2x2 PNG; an import exports and imports back",
      run: fuzzCOCOInstances),
    FuzzTarget(
      name: "coco-results", summary: "a COCO results file read against a 3-image set, scored, written and read back",
      run: fuzzCOCOResults),
  ]
}

/// Stops the run as a finding: libFuzzer saves the input that got here.
func finding(_ message: String) -> Never { fatalError("kswap-fuzz finding: \(message)") }

// MARK: - JSON

func fuzzJSON(_ bytes: [UInt8]) {
  guard let value = try? JSONParser.parse(bytes, file: "fuzz") else { return }
  for indent in [0, 2] {
    let text = value.text(indent: indent)
    guard let again = try? JSON(parsing: text, file: "fuzz"), again == value else {
      finding("JSON round trip: \(text)")
    }
  }
}

// MARK: - Tensor files

func fuzzSafetensorsHeader(_ bytes: [UInt8]) {
  guard let header = try? SafetensorsHeader.parse(bytes, file: "fuzz") else { return }
  let tensors = header.entries.map(\.info)
  guard let encoded = try? SafetensorsHeader.encode(metadata: header.metadata, tensors: tensors, file: "fuzz"),
    let again = try? SafetensorsHeader.parse(Array(encoded.dropFirst(8)), file: "fuzz"),
    again.entries.map(\.info) == tensors, again.metadata == header.metadata, again.dataSize == header.dataSize
  else { finding("a header the reader accepts does not survive the writer") }
}

/// Reads a tensor file every way kswap does: from a regular file (random access, conversions), from a
/// pipe (in order); one it accepts must copy to the other format and back unchanged.
func readTensorFile(_ bytes: [UInt8]) {
  let path = Scratch.write("input", bytes)
  if let reader = try? TensorReader(path: path) {
    var tensors: [(TensorInfo, [UInt8])] = []
    if (try? reader.forEachTensor { tensors.append(($0, $1)) }) != nil {
      checkCopies(reader, tensors)
    }
    for info in reader.tensors {
      _ = try? reader.bytes(of: info.name)
      if info.dtype.isConvertibleFloat { _ = try? reader.floats(of: info.name) }
    }
  }
  Scratch.withPipe(bytes) { pipe in
    guard let reader = try? TensorReader(path: pipe) else { return }
    try? reader.forEachTensor { _, _ in }
  }
}

private func checkCopies(_ reader: TensorReader, _ tensors: [(TensorInfo, [UInt8])]) {
  let format: TensorWriter.Format = reader.format == .compressed ? .safetensors : .compressed(level: 1)
  let copy = Scratch.path("copy")
  do {
    let writer = try TensorWriter(
      path: copy, format: format, metadata: reader.metadata, tensors: tensors.map(\.0), order: .asGiven)
    for (info, bytes) in tensors { try writer.write(info.name, bytes: bytes) }
    try writer.finish()
  } catch {
    finding("a file the reader accepts cannot be written again: \(error)")
  }
  var copied: [(TensorInfo, [UInt8])] = []
  guard let again = try? TensorReader(path: copy), (try? again.forEachTensor { copied.append(($0, $1)) }) != nil,
    again.metadata == reader.metadata, copied.count == tensors.count,
    zip(copied, tensors).allSatisfy({
      ($0.0.name, $0.0.dtype, $0.0.shape, $0.1) == ($1.0.name, $1.0.dtype, $1.0.shape, $1.1)
    })
  else { finding("a file the reader accepts changes when copied to \(format)") }
}

/// The .kst bytes with the header checksum and the index checksum recomputed where the layout lets
/// them be found (Formats/tensor-file.md); other bytes as they are.
func withKstChecksumsFixed(_ bytes: [UInt8]) -> [UInt8] {
  guard bytes.starts(with: ContainerFormat.magic), bytes.count >= ContainerFormat.preambleSize else { return bytes }
  var fixed = bytes
  let headerLength = Int(readLittleEndian(bytes[12..<16]))
  let checksumAt = ContainerFormat.preambleSize + headerLength
  if checksumAt + 8 <= bytes.count {
    let hash = XXH64.hash(Array(bytes[ContainerFormat.preambleSize..<checksumAt]))
    fixed.replaceSubrange(checksumAt..<checksumAt + 8, with: littleEndianBytes(hash))
  }
  let trailer = bytes.count - ContainerFormat.trailerSize
  if trailer >= checksumAt + 8 {
    let indexOffset = readLittleEndian(fixed[trailer..<trailer + 8])
    if indexOffset >= UInt64(checksumAt + 8), indexOffset <= UInt64(trailer) {
      let hash = XXH64.hash(Array(fixed[Int(indexOffset)..<trailer]))
      fixed.replaceSubrange(trailer + 16..<trailer + 24, with: littleEndianBytes(hash))
    }
  }
  return fixed
}

/// Two shards holding tensors a and b, written once; the fuzzed index goes beside them.
private let shardFolder: String = {
  let folder = Scratch.makeDirectory("sharded")
  for (name, tensor) in [("model-00001-of-00002.safetensors", "a"), ("model-00002-of-00002.safetensors", "b")] {
    let info = try! TensorInfo(name: tensor, dtype: .f32, shape: [2])
    try! TensorWriter.write(path: folder + "/" + name, tensors: [(info, [UInt8](repeating: 0, count: 8))])
  }
  return folder
}()

func fuzzShardedIndex(_ bytes: [UInt8]) {
  let index = Scratch.write(shardFolder + "/model.safetensors.index.json", bytes)
  guard let reader = try? TensorReader(path: index) else { return }
  try? reader.forEachTensor { _, _ in }
  for info in reader.tensors { _ = try? reader.floats(of: info.name) }
}

// MARK: - PyTorch

func fuzzPickle(_ bytes: [UInt8]) {
  _ = try? Pickle.load(bytes, file: "fuzz")
}

/// The fuzzed bytes as data.pkl of a checkpoint whose storages 0 (64 bytes) and 1 (16 bytes) exist.
func fuzzTorchPickle(_ bytes: [UInt8]) {
  let archive = StoredZip.make([
    ("archive/data.pkl", bytes), ("archive/byteorder", Array("little".utf8)),
    ("archive/data/0", (0..<64).map { UInt8($0) }), ("archive/data/1", [UInt8](repeating: 0x3F, count: 16)),
  ])
  _ = try? TorchCheckpoint.read(bytes: archive, name: "fuzz.pt")
}

func fuzzTorchZip(_ bytes: [UInt8]) {
  _ = try? TorchCheckpoint.read(bytes: bytes, name: "fuzz.pt")
}

/// Small enough that no input makes the fuzzer itself run out of memory; the real limits are the
/// readers' own (ImportLimits.standard) and are tested by the unit tests.
let fuzzLimits = ImportLimits(maxBytes: 1 << 24, maxElements: 1 << 24, maxImagePixels: 1 << 22)

func fuzzZip(_ bytes: [UInt8]) {
  try? ArchiveInput.forEachZipMember(bytes: bytes, name: "fuzz.zip", limits: fuzzLimits) { _, member in
    _ = try? member.readToEnd()
    return true
  }
}

func fuzzDecompress(_ bytes: [UInt8]) {
  _ = try? ArchiveInput.decompress(bytes, name: "fuzz", limits: fuzzLimits)
}

// MARK: - Arrays and datasets

func fuzzNpy(_ bytes: [UInt8]) {
  guard let array = try? NumpyArray(npy: bytes, file: "fuzz.npy", limits: fuzzLimits) else { return }
  useArray(array)
}

func fuzzNpz(_ bytes: [UInt8]) {
  let path = Scratch.write("input.npz", bytes)
  guard let arrays = try? NumpyArray.readNPZ(path: path, limits: fuzzLimits) else { return }
  for (_, array) in arrays { useArray(array) }
}

/// Converts the array every way the importers do and makes a dataset of it where its shape allows.
private func useArray(_ array: NumpyArray) {
  _ = array.doubles()
  _ = try? array.integers(file: "fuzz")
  guard let count = array.shape.first, count <= 1 << 16 else { return }
  if array.shape.count == 1 {
    let images = NumpyArray(kind: .uint, itemSize: 1, shape: [count, 1, 1], data: .init(repeating: 0, count: count))
    _ = try? Dataset.fromNumpy(images: images, labels: array, imagesFile: "images", labelsFile: "labels")
  } else if array.shape.count >= 3 {
    let labels = NumpyArray(kind: .int, itemSize: 8, shape: [count], data: .init(repeating: 0, count: 8 * count))
    _ = try? Dataset.fromNumpy(images: array, labels: labels, imagesFile: "images", labelsFile: "labels")
  }
}

func fuzzIDX(_ bytes: [UInt8]) {
  guard let array = try? IDXArray(bytes: bytes, file: "fuzz", limits: fuzzLimits) else { return }
  _ = try? array.integers(file: "fuzz")
  _ = try? array.floats(file: "fuzz")
  // Datasets of at most 2^16 images: the arrays made up to go with this one are allocated whole.
  guard array.dims[0] <= 1 << 16 else { return }
  if array.dims.count == 1 {
    let images = try! IDXArray(
      bytes: [0, 0, 8, 3] + [array.dims[0], 1, 1].flatMap(bigEndian32) + [UInt8](repeating: 0, count: array.dims[0]),
      file: "images")
    _ = try? Dataset.fromIDX(images: images, labels: array, imagesFile: "images", labelsFile: "fuzz")
  } else {
    let count = array.dims[0]
    let labels = try! IDXArray(
      bytes: [0, 0, 8, 1] + bigEndian32(count) + [UInt8](repeating: 0, count: count), file: "labels")
    _ = try? Dataset.fromIDX(images: array, labels: labels, imagesFile: "fuzz", labelsFile: "labels")
  }
}

private func bigEndian32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(value >> (24 - 8 * $0) & 0xFF) } }

/// The first two bytes choose the options (label column, image shape); the rest is the table.
func fuzzCSV(_ bytes: [UInt8]) {
  var choices = FuzzBytes(Array(bytes.prefix(2)))
  let column = choices.byte()
  let shape = choices.byte()
  let labelColumn: CSVImageOptions.LabelColumn
  switch column % 4 {
  case 0: labelColumn = .last
  case 1: labelColumn = .first
  case 2: labelColumn = .index(Int(column / 4) % 8 - 1)
  default: labelColumn = .named("label")
  }
  let options = CSVImageOptions(
    labelColumn: labelColumn,
    shape: shape < 128 ? nil : (channels: Int(shape & 3), height: Int(shape >> 2 & 7), width: Int(shape >> 5 & 3)))
  guard
    var dataset = try? Dataset.fromCSV(
      bytes: Array(bytes.dropFirst(2)), file: "fuzz.csv", options: options, limits: fuzzLimits)
  else { return }
  dataset.setStatisticsIfMissing()
  _ = try? Dataset.parseMetadata(dataset.metadata(), file: "fuzz.csv")
}

func fuzzImage(_ bytes: [UInt8]) {
  _ = try? ImageDecoder.header(bytes, file: "fuzz")
  for channels in [1, 3] {
    guard let image = try? ImageDecoder.decode(bytes, channels: channels, file: "fuzz", limits: fuzzLimits) else {
      continue
    }
    _ = image.planar
  }
}

func fuzzTIFF(_ bytes: [UInt8]) {
  fuzzImage(bytes)
  _ = try? ImageDecoder.decodeLabels(bytes, file: "fuzz", limits: fuzzLimits)
}

// MARK: - Adapters and configuration files

/// A PEFT adapter directory whose adapter_config.json is fuzzed: two LoRA modules and a full tensor.
private let adapterFolder: String = {
  let folder = Scratch.makeDirectory("peft")
  let shapes: [(String, [Int])] = [
    (AdapterNames.loraA("blocks.0.mlp.fc1"), [4, 8]), (AdapterNames.loraB("blocks.0.mlp.fc1"), [16, 4]),
    (AdapterNames.loraA("blocks.1.mlp.fc2"), [2, 16]), (AdapterNames.loraB("blocks.1.mlp.fc2"), [8, 2]),
    (AdapterNames.full("head.weight"), [3, 8]),
  ]
  let tensors = shapes.map { name, shape in
    let info = try! TensorInfo(name: name, dtype: .f32, shape: shape)
    return (info, [UInt8](repeating: 0, count: info.byteCount))
  }
  try! TensorWriter.write(path: folder + "/adapter_model.safetensors", tensors: tensors)
  return folder
}()

func fuzzAdapterConfig(_ bytes: [UInt8]) {
  if let json = try? JSONParser.parse(bytes, file: "fuzz"), let settings = try? LoRASettings(config: json, file: "fuzz")
  {
    for module in ["blocks.0.mlp.fc1", "blocks.11.attn.qkv", "head"] {
      for rank in [1, 4] { _ = try? settings.scale(module: module, rank: rank, file: "fuzz") }
    }
    // What kswap writes into an adapter's metadata reads back as the same settings.
    guard let again = try? LoRASettings(metadata: settings.metadata, file: "fuzz"),
      (again.rank, again.alpha, again.useRSLoRA, again.targetModules, again.modulesToSave)
        == (settings.rank, settings.alpha, settings.useRSLoRA, settings.targetModules, settings.modulesToSave),
      again.rankPattern.map(\.0) == settings.rankPattern.map(\.0),
      again.rankPattern.map(\.1) == settings.rankPattern.map(\.1),
      again.alphaPattern.map(\.0) == settings.alphaPattern.map(\.0),
      again.alphaPattern.map(\.1) == settings.alphaPattern.map(\.1)
    else { finding("LoRA settings change through an adapter's metadata") }
  }
  Scratch.write(adapterFolder + "/adapter_config.json", bytes)
  _ = try? AdapterFile.load(path: adapterFolder)
}

func fuzzAdapter(_ bytes: [UInt8]) {
  let path = Scratch.write("adapter.safetensors", bytes)
  _ = try? AdapterFile.load(path: path)
}

private let configFolders = (Scratch.makeDirectory("config"), Scratch.makeDirectory("preprocessor"))

func fuzzCheckpointConfig(_ bytes: [UInt8]) {
  Scratch.write(configFolders.0 + "/config.json", bytes)
  Scratch.write(configFolders.1 + "/preprocessor_config.json", bytes)
  _ = try? CheckpointConfig(folder: configFolders.1)
  guard let config = try? CheckpointConfig(folder: configFolders.0) else { return }
  _ = try? config.check(ViTConfig(imageSize: 32, patchSize: 8, dim: 64, depth: 2, classes: 10))
}

func fuzzMetadataJSON(_ bytes: [UInt8]) {
  let text = String(decoding: bytes, as: UTF8.self)
  for key in [DatasetLayout.Key.classes, DatasetLayout.Key.mean, DatasetLayout.Key.std] {
    _ = try? Dataset.parseMetadata([key: text], file: "fuzz")
  }
  _ = ViTConfig.fromJSON(text)?.validationProblem()
  _ = SwapMetadata.names(text)
}

/// A dataset file written from fuzzed choices (which tensors, their dtypes, shapes and bytes, the
/// classes metadata, the model's normalisation), then read by the validator the swap tools use.
func fuzzDatasetFile(_ bytes: [UInt8]) {
  var input = FuzzBytes(bytes)
  let dtypes: [DType] = [.u8, .f32, .f16, .bf16, .f64, .i64, .i32, .u16, .bool]
  var tensors: [(TensorInfo, [UInt8])] = []
  for name in [DatasetLayout.images, DatasetLayout.labels] where input.below(8) != 0 {
    let dtype = input.pick(dtypes)
    let shape = (0..<input.below(6)).map { _ in input.below(5) }
    guard let info = try? TensorInfo(name: name, dtype: dtype, shape: shape) else { return }
    tensors.append((info, []))
  }
  var metadata: [String: String] = [:]
  if input.bool() { metadata[DatasetLayout.Key.classes] = input.text() }
  let channels = input.pick([0, 1, 3])
  let mean = channels == 0 ? nil : (0..<channels).map { _ in Float(input.byte()) / 255 }
  let std = channels == 0 ? nil : (0..<channels).map { _ in Float(input.byte()) / 64 }
  let format: TensorWriter.Format = input.bool() ? .safetensors : .compressed(level: 1)
  tensors = tensors.map { info, _ in (info, input.data(info.byteCount)) }
  let path = Scratch.path("dataset")
  guard (try? TensorWriter.write(path: path, format: format, metadata: metadata, tensors: tensors)) != nil else {
    return
  }
  guard let file = try? DatasetFile(path: path, mean: mean, std: std) else { return }
  _ = file.presentClasses
  _ = try? file.relabeled(rows: file.presentLabels)
  _ = try? file.labeled(by: ClassMap(names: file.classes.reversed()))
}

// MARK: - Detection

/// A detection dataset file of 1x3x4 grey images from fuzzed counts, boxes (4 bytes each, small
/// values around the image's size), labels, offsets and classes, read by Swap's DetectionFile and by
/// the importers' DetectionDataset.
func fuzzDetectionFile(_ bytes: [UInt8]) {
  var input = FuzzBytes(bytes)
  let images = input.below(4), boxCount = input.below(6)
  let coordinates = (0..<(4 * boxCount)).map { _ in Float(Int(input.byte()) - 8) / 4 }
  let labels = (0..<boxCount).map { _ in Int64(input.below(5)) - 1 }
  let offsets = (0...images).map { _ in Int64(input.below(boxCount + 2)) - (input.bool() ? 0 : 1) }
  var metadata = [DatasetLayout.Key.dataset: "1", DatasetLayout.Key.task: "detection"]
  if input.bool() { metadata[DatasetLayout.Key.classes] = input.bool() ? #"["a",null,"c"]"# : input.text() }
  func data<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { [UInt8]($0) } }
  let path = Scratch.path("detection")
  guard
    (try? TensorWriter.write(
      path: path, metadata: metadata,
      tensors: [
        (try TensorInfo(name: "images", dtype: .u8, shape: [images, 1, 3, 4]), input.data(images * 12)),
        (try TensorInfo(name: "boxes", dtype: .f32, shape: [boxCount, 4]), data(coordinates)),
        (try TensorInfo(name: "box_labels", dtype: .i64, shape: [boxCount]), data(labels)),
        (try TensorInfo(name: "box_offsets", dtype: .i64, shape: [images + 1]), data(offsets)),
      ])) != nil
  else { return }
  if let file = try? DetectionFile(path: path) {
    _ = try? file.labeled(by: ClassMap(names: file.classes.reversed()))
    var map = ClassMap(names: [nil, "c"])
    _ = try? file.learning(into: &map)
  }
  if let reader = try? TensorReader(path: path), let dataset = try? DetectionDataset(reader: reader) {
    _ = dataset.selecting(Array((0..<dataset.count).reversed()))
    _ = try? dataset.resized(height: 7, width: 2, method: .bilinear, file: path)
  }
}

/// A COCO instances file imported with a folder holding one 2x2 grey PNG, a.png; a dataset it gives
/// must export (cocoFiles) and import back to the same tensors.
func fuzzCOCOInstances(_ bytes: [UInt8]) {
  let folder = Scratch.path("coco-images")
  if access(folder + "/a.png", F_OK) != 0,
    let png = try? PNGEncoder.encode([0, 64, 128, 255], width: 2, height: 2, channels: 1, file: "a.png")
  {
    _ = Scratch.makeDirectory("coco-images")
    Scratch.write(folder + "/a.png", png)
  }
  guard let (dataset, _) = try? DetectionDataset.fromCOCO(annotations: bytes, file: "fuzz.json", folder: folder) else {
    return
  }
  guard let files = try? dataset.cocoFiles(file: "export") else { finding("an imported dataset does not export") }
  let export = Scratch.makeDirectory("coco-export")
  for (name, data) in files { Scratch.write(export + "/" + name, data) }
  guard let json = files.last?.bytes,
    let (again, crowd) = try? DetectionDataset.fromCOCO(annotations: json, file: "export.json", folder: export),
    crowd == 0, again.images == dataset.images, again.boxes == dataset.boxes, again.boxLabels == dataset.boxLabels,
    again.boxOffsets == dataset.boxOffsets, again.classes.count <= dataset.classes.count
  else { finding("a COCO import does not survive its export") }
}

/// A COCO results file for a fixed set of 3 images and 4 classes; detections it accepts are scored
/// (every AP in [0, 100]) and written and read back unchanged.
func fuzzCOCOResults(_ bytes: [UInt8]) {
  let text = String(decoding: bytes, as: UTF8.self)
  guard let detections = try? COCOResults.read(text, file: "fuzz.json", images: 3, classes: 4, set: "set") else {
    return
  }
  let truth = [
    [LabeledBox(box: Box(x0: 0, y0: 0, x1: 4, y1: 4), label: 1)], [],
    [
      LabeledBox(box: Box(x0: 1, y0: 1, x1: 3, y1: 5), label: 2),
      LabeledBox(box: Box(x0: 2, y0: 0, x1: 6, y1: 3), label: 2),
    ],
  ]
  let scores = cocoScores(truth: truth, detections: detections)
  for value in [scores.ap, scores.ap50, scores.ap75] + scores.classes.map(\.ap) {
    guard let value, value >= 0, value <= 100 else { finding("an AP outside 0...100: \(String(describing: value))") }
  }
  guard
    (try? COCOResults.read(COCOResults.json(detections), file: "again", images: 3, classes: 4, set: "set"))
      == detections
  else { finding("detections change when written and read back") }
}
