// What kswap-pack reads from: a weight file, or (through an importer) data in another format.

import TensorFile

/// Tensors to pack, with their metadata, visited in order or (when `isSeekable`) by name.
///
/// `TensorReader` is one; an importer that turns another format into tensors provides another and
/// returns it from Pack's `openInput()`.
public protocol PackSource: AnyObject {
  var metadata: [String: String] { get }
  /// Every tensor, in the source's order.
  var tensors: [TensorInfo] { get }
  /// Whether `bytes(of:)` may be called in any order; false for a pipe.
  var isSeekable: Bool { get }
  /// One tensor's raw little-endian bytes.
  func bytes(of name: String) throws -> [UInt8]
  /// Visits every tensor once, in order, with its bytes; the only access a pipe allows.
  func forEachTensor(_ body: (TensorInfo, [UInt8]) throws -> Void) throws
}

extension TensorReader: PackSource {}
