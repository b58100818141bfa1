// What a file says about one tensor, before any of its data is read.

/// How a tensor's bytes are stored: as they are (plain safetensors), or byte-planes + zstd (.kst).
public enum Codec: String, Sendable, Equatable {
  case none = "none"
  case zstdPlanes = "zstd-planes"
}

public struct TensorInfo: Equatable, Sendable {
  public let name: String
  public let dtype: DType
  /// Row-major dimensions; [] for a scalar.
  public let shape: [Int]
  public let elementCount: Int
  /// Size of the raw (uncompressed) data: elementCount × bits / 8.
  public let byteCount: Int
  /// Bytes the data occupies in the file; nil while unknown (a compressed stream read from a pipe
  /// learns it only when it reaches the tensor).
  public internal(set) var storedByteCount: Int?
  public internal(set) var codec: Codec

  /// A tensor description; throws when the shape overflows or a sub-byte type does not fill whole
  /// bytes. `file` only names the source in the error.
  public init(name: String, dtype: DType, shape: [Int], file: String = "<tensor>") throws {
    guard let count = TensorFile.elementCount(of: shape) else {
      throw TensorFileError(
        .validationOverflow, file: file, tensor: name,
        "shape \(shape) has a negative dimension or its element count overflows")
    }
    let (bits, overflow) = count.multipliedReportingOverflow(by: dtype.bitsPerElement)
    guard !overflow else {
      throw TensorFileError(
        .validationOverflow, file: file, tensor: name,
        "\(count) elements of \(dtype.name) overflow the byte count")
    }
    guard bits % 8 == 0 else {
      throw TensorFileError(
        .misalignedSlice, file: file, tensor: name,
        "\(count) elements of \(dtype.name) do not fill a whole number of bytes")
    }
    let bytes = bits / 8
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.elementCount = count
    self.byteCount = bytes
    self.storedByteCount = bytes
    self.codec = .none
  }
}
