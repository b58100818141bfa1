// AdamW's state as a tensor file stores it (Formats/adapter.md, "Optimizer state"): the step count in
// `__metadata__` and both moments of every trained tensor as F32 tensors named after that tensor. An
// adapter carries it so that a later stage continues it; the training tools' resume file holds it the
// same way. The one writer and reader of those tensors.

import TensorFile

public struct SavedOptimizerState: Sendable, Equatable {
  /// Both moments of one tensor, in its shape.
  public struct Moments: Sendable, Equatable {
    public var shape: [Int]
    public var first: [Float]
    public var second: [Float]

    public init(shape: [Int], first: [Float], second: [Float]) {
      self.shape = shape
      self.first = first
      self.second = second
    }
  }

  /// Updates taken so far (AdamW's bias correction counts them).
  public var step: Int
  /// By the name of the tensor they belong to, as the file names it (the PEFT name in an adapter).
  public var moments: [String: Moments]

  /// The metadata key of the step count.
  public static let stepKey = "kswap.optimizer_step"

  public init(step: Int, moments: [String: Moments]) {
    self.step = step
    self.moments = moments
  }

  /// The metadata entry and the tensors, sorted by tensor name, each tensor's exp_avg before its exp_avg_sq.
  public func fileContents(file: String) throws -> (
    metadata: [String: String], tensors: [(info: TensorInfo, bytes: [UInt8])]
  ) {
    var tensors: [(info: TensorInfo, bytes: [UInt8])] = []
    for (tensor, moments) in moments.sorted(by: { $0.key < $1.key }) {
      for (moment, values) in [(OptimizerMoment.first, moments.first), (.second, moments.second)] {
        let name = AdapterNames.optimizerMoment(moment, of: tensor)
        tensors.append(
          (
            try TensorInfo(name: name, dtype: .f32, shape: moments.shape, file: file),
            try FloatConversion.bytes(from: values, dtype: .f32, file: file, tensor: name)
          ))
      }
    }
    return ([Self.stepKey: String(step)], tensors)
  }

  /// The state in a file's optimizer tensors (those `AdapterNames` gives the role `optimizerMoment`; any
  /// float dtype) and its step key; nil when there are none: the step key alone, left behind when
  /// `kswap-pack --exclude 'kswap_optimizer.*'` strips the tensors, is no state. Refuses a moment without
  /// its partner, partners of different shapes and a missing or negative step count.
  public init?(metadata: [String: String], tensors: [(info: TensorInfo, bytes: [UInt8])], file: String) throws {
    var first: [String: (TensorInfo, [Float])] = [:]
    var second: [String: (TensorInfo, [Float])] = [:]
    for (info, bytes) in tensors {
      guard case let .optimizerMoment(moment, tensor) = AdapterNames.role(of: info.name) else { continue }
      guard info.dtype.isConvertibleFloat else {
        throw SurgeryError(
          .invalidTensor, file, tensor: info.name, "optimizer state must be a float tensor, not \(info.dtype.name)")
      }
      let values = try FloatConversion.floats(from: bytes, dtype: info.dtype, file: file, tensor: info.name)
      switch moment {
      case .first: first[tensor] = (info, values)
      case .second: second[tensor] = (info, values)
      }
    }
    guard !first.isEmpty || !second.isEmpty else { return nil }
    var moments: [String: Moments] = [:]
    for tensor in Set(first.keys).union(second.keys).sorted() {
      guard let (firstInfo, firstValues) = first[tensor] else {
        throw SurgeryError(
          .invalidTensor,
          file, tensor: AdapterNames.optimizerMoment(.second, of: tensor),
          "has no matching \(AdapterNames.optimizerMoment(.first, of: tensor))")
      }
      guard let (secondInfo, secondValues) = second[tensor] else {
        throw SurgeryError(
          .invalidTensor,
          file, tensor: AdapterNames.optimizerMoment(.first, of: tensor),
          "has no matching \(AdapterNames.optimizerMoment(.second, of: tensor))")
      }
      guard firstInfo.shape == secondInfo.shape else {
        throw SurgeryError(
          .invalidTensor, file, tensor: secondInfo.name,
          "shape \(secondInfo.shape) differs from exp_avg's \(firstInfo.shape)")
      }
      moments[tensor] = Moments(shape: firstInfo.shape, first: firstValues, second: secondValues)
    }
    guard let text = metadata[Self.stepKey], let step = Int(text), step >= 0 else {
      throw SurgeryError(
        .invalidTensor,
        file, "optimizer state without a step count: metadata '\(Self.stepKey)' is missing or not a count")
    }
    self.init(step: step, moments: moments)
  }

  /// The state in the optimizer tensors of a seekable file, read without touching its other tensors.
  public static func read(_ reader: TensorReader, file: String) throws -> SavedOptimizerState? {
    let tensors = try reader.tensors.filter { $0.name.hasPrefix(AdapterNames.optimizerPrefix) }.map {
      ($0, try reader.bytes(of: $0.name))
    }
    return try SavedOptimizerState(metadata: reader.metadata, tensors: tensors, file: file)
  }
}
