// The resumable state of a training stage, saved atomically after every epoch beside the output as
// OUTPUT.state (a tensor file): trainable parameter values, AdamW moments and step (stored as an
// adapter stores them, SavedOptimizerState), both batch orders with their generators, and a
// description of the run so --resume refuses a different one.

import Foundation
import SeededRandom
import Swap
import TensorFile
import Tensors
import ToolSupport
import ViT

enum TrainingStateFile {
  static func save(_ trainer: StageTrainer, invocation: String, to path: String) throws {
    let state = trainer.state
    var tensors: [(info: TensorInfo, bytes: [UInt8])] = []
    func addFloats(_ name: String, _ shape: [Int], _ values: [Float]) throws {
      tensors.append(
        (
          try TensorInfo(name: name, dtype: .f32, shape: shape, file: path),
          try FloatConversion.bytes(from: values, dtype: .f32, file: path, tensor: name)
        ))
    }
    func addIndices(_ name: String, _ values: [Int]) throws {
      var bytes: [UInt8] = []
      bytes.reserveCapacity(values.count * 8)
      for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 } }
      tensors.append((try TensorInfo(name: name, dtype: .i64, shape: [values.count], file: path), bytes))
    }
    for parameter in trainer.network.trainable {
      try addFloats("value/" + parameter.name, parameter.value.shape, parameter.value.scalars)
    }
    let optimizer = try state.optimizer.state.fileContents(parameters: trainer.network.trainable, file: path)
    tensors += optimizer.tensors
    try addIndices("order/stage", state.stageOrder.order)
    try addIndices("order/retain", state.retainOrder.order)
    let metadata = [
      "kswap.state": "2", "invocation": invocation, "epoch": String(state.epoch),
      "stage_position": String(state.stageOrder.position), "stage_random": String(state.stageOrder.generator.state),
      "retain_position": String(state.retainOrder.position), "retain_random": String(state.retainOrder.generator.state),
    ].merging(optimizer.metadata) { own, _ in own }
    try TensorWriter.write(path: path, metadata: metadata, tensors: tensors)
  }

  static func restore(from path: String, into trainer: StageTrainer, invocation: String) throws {
    guard FileManager.default.fileExists(atPath: path) else {
      throw ToolError(.input, file: path, "no saved state to resume from (it is written after each completed epoch)")
    }
    let reader = try TensorReader(path: path)
    let meta = reader.metadata
    guard meta["kswap.state"] == "2" else {
      throw ToolError(.input, file: path, "not a training state file of this kswap version; rerun without --resume")
    }
    guard meta["invocation"] == invocation else {
      throw ToolError(
        .input, file: path, "saved by a run with other inputs or options; rerun without --resume to start afresh")
    }
    func int(_ key: String) throws -> Int {
      guard let text = meta[key], let value = Int(text) else {
        throw ToolError(.input, file: path, "metadata '\(key)' is missing")
      }
      return value
    }
    func word(_ key: String) throws -> UInt64 {
      guard let text = meta[key], let value = UInt64(text) else {
        throw ToolError(.input, file: path, "metadata '\(key)' is missing")
      }
      return value
    }
    func floats(_ name: String, count: Int) throws -> [Float] {
      guard reader.info(name) != nil else { throw ToolError(.input, file: path, "tensor '\(name)' is missing") }
      let values = try reader.floats(of: name)
      guard values.count == count else { throw ToolError(.input, file: path, "tensor '\(name)' has the wrong size") }
      return values
    }
    func indices(_ name: String, count: Int) throws -> [Int] {
      let bytes = try reader.bytes(of: name)
      let values = try DatasetFile.integers(bytes, dtype: reader.info(name)?.dtype ?? .i64, file: path)
      guard values.count == count, Set(values) == Set(0..<count) else {
        throw ToolError(.input, file: path, "tensor '\(name)' is not an order of \(count) items")
      }
      return values
    }
    var state = trainer.state
    let trainable = trainer.network.trainable
    for parameter in trainable {
      let count = parameter.value.count
      let values = try floats("value/" + parameter.name, count: count)
      values.withUnsafeBufferPointer { parameter.value.pointer.update(from: $0.baseAddress!, count: count) }
    }
    guard let (optimizer, absent) = try AdamW.State.read(reader, parameters: trainable, file: path) else {
      throw ToolError(.input, file: path, "the optimizer state is missing")
    }
    if let name = absent.first { throw ToolError(.input, file: path, "the optimizer state of '\(name)' is missing") }
    state.optimizer.state = optimizer
    state.epoch = try int("epoch")
    let stage = state.stageOrder, retain = state.retainOrder
    state.stageOrder = BatchOrder(
      count: stage.count, batchSize: stage.batchSize,
      order: try indices("order/stage", count: stage.count),
      position: try int("stage_position"), generator: SeededGenerator(seed: try word("stage_random")))
    state.retainOrder = BatchOrder(
      count: retain.count, batchSize: retain.batchSize,
      order: try indices("order/retain", count: retain.count),
      position: try int("retain_position"), generator: SeededGenerator(seed: try word("retain_random")))
    trainer.state = state
  }
}
