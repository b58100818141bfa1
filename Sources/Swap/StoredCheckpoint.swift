// A model checkpoint as it is stored, whatever the container: the weight file a path leads to, its
// tensors under their stored names, its metadata and its base fingerprint. Names and architecture are
// BaseModel's business; this file only finds and reads.

import Foundation
import Importers
import TensorFile
import Tensors
import WeightSurgery

/// The tensors of a checkpoint by their stored names, read from any container kswap takes.
///
/// | path | read as |
/// |---|---|
/// | a safetensors or `.kst` file, or `-` | `TensorReader` |
/// | `*.index.json` (a sharded checkpoint's index) | its shards, joined |
/// | a zip-format PyTorch checkpoint (`.bin`, `.pth`, `.pt`, `.ckpt`; told by its first bytes) | `TorchCheckpoint` |
/// | a folder | the first of `model.safetensors.index.json`, `model.safetensors`, `pytorch_model.bin` in it |
///
/// Configuration files (`config.json`, ...) are looked for in `folder`: the folder given, or the
/// weight file's.
struct StoredCheckpoint {
  /// The weight files a Hugging Face model folder may hold, in the order tried.
  static let folderWeightNames = ["model.safetensors.index.json", "model.safetensors", "pytorch_model.bin"]

  /// The weight file read (the index for a sharded checkpoint).
  let weightsPath: String
  /// Where configuration files beside the weights are looked for; nil for standard input.
  let folder: String?
  let metadata: [String: String]
  /// Every floating-point tensor as Float32, by stored name.
  let tensors: [String: Tensor]
  /// Formats/adapter.md's fingerprint over every stored tensor, by stored name.
  let fingerprint: String

  init(path: String) throws {
    var isFolder: ObjCBool = false
    let exists = path != "-" && FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
    if exists && isFolder.boolValue {
      let folder = (path as NSString).standardizingPath
      guard
        let name = Self.folderWeightNames.first(where: {
          FileManager.default.fileExists(atPath: folder + "/" + $0)
        })
      else {
        throw SwapError(
          .invalidModel, file: path,
          "a folder without weights: expected \(Self.folderWeightNames.joined(separator: ", ")) in it")
      }
      weightsPath = folder + "/" + name
      self.folder = folder
    } else {
      weightsPath = path
      folder = path == "-" ? nil : ((path as NSString).deletingLastPathComponent as NSString).standardizingPath
    }

    var fingerprint = BaseFingerprint()
    var tensors: [String: Tensor] = [:]
    let file = weightsPath
    func add(_ info: TensorInfo, _ bytes: [UInt8]) throws {
      guard info.dtype.isConvertibleFloat else {
        fingerprint.add(name: info.name, shape: info.shape, sample: nil)
        return
      }
      let values = try FloatConversion.floats(from: bytes, dtype: info.dtype, file: file, tensor: info.name)
      fingerprint.add(name: info.name, shape: info.shape, sample: Array(values.prefix(BaseFingerprint.sampleCount)))
      tensors[info.name] = Tensor(shape: info.shape, values: values)
    }
    if weightsPath != "-" && ArchiveInput.isZip(path: weightsPath) {
      let imported = try TorchCheckpoint.read(path: weightsPath, limits: ImportLimits.fromEnvironment())
      for info in imported.tensors { try add(info, try imported.bytes(of: info.name, file: weightsPath)) }
      metadata = imported.metadata
    } else {
      let reader: TensorReader
      do {
        reader = try TensorReader(path: weightsPath)
      } catch {
        // A pickle (PROTO opcode 0x80) is a PyTorch checkpoint from before 1.6: the importer says so.
        if Self.startsWithPickle(weightsPath) { _ = try TorchCheckpoint.read(path: weightsPath) }
        throw error
      }
      try reader.forEachTensor(add)
      metadata = reader.metadata
    }
    self.tensors = tensors
    self.fingerprint = fingerprint.value
  }

  static func startsWithPickle(_ path: String) -> Bool {
    guard path != "-", let handle = FileHandle(forReadingAtPath: path) else { return false }
    defer { try? handle.close() }
    return (try? handle.read(upToCount: 1))?.first == 0x80
  }
}
