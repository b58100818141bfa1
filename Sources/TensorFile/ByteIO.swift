// Plain POSIX file access: positional reads on regular files (random access without a shared file
// offset) and sequential reads on pipes. Writing is OutputFile's job.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Chunk size for reads from a pipe: a lying header cannot make us allocate more than the input
/// actually delivers plus one chunk.
let streamChunk = 1 << 24

final class InputFile {
  let displayName: String
  private let fd: Int32
  private let ownsDescriptor: Bool
  /// Regular files support positional reads; pipes, terminals and sockets are read in order.
  let isSeekable: Bool
  /// Size of a regular file; nil for a stream.
  let size: Int?
  /// Bytes consumed so far (stream) or the next sequential offset (regular file).
  private(set) var position = 0

  /// Opens `path`, or standard input for "-".
  init(path: String) throws {
    if path == "-" {
      displayName = "<stdin>"
      fd = 0
      ownsDescriptor = false
    } else {
      displayName = path
      fd = open(path, O_RDONLY | O_CLOEXEC)
      guard fd >= 0 else { throw InputFile.osError(path, "cannot open") }
      ownsDescriptor = true
    }
    var status = stat()
    if fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, path != "-" {
      isSeekable = true
      size = Int(status.st_size)
    } else {
      if (status.st_mode & S_IFMT) == S_IFDIR {
        if ownsDescriptor { close(fd) }
        throw TensorFileError(.io, file: path, "is a directory")
      }
      isSeekable = false
      size = nil
    }
  }

  deinit {
    if ownsDescriptor { close(fd) }
  }

  static func osError(_ file: String, _ what: String) -> TensorFileError {
    TensorFileError(.io, file: file, "\(what): \(String(cString: strerror(errno)))")
  }

  /// Reads up to `count` bytes into `buffer` at `offset` (regular file) or from the stream;
  /// returns how many arrived before end of file.
  private func fill(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int?) throws -> Int {
    var done = 0
    while done < buffer.count {
      let base = buffer.baseAddress! + done
      let n: Int
      if let offset {
        n = pread(fd, base, buffer.count - done, off_t(offset + done))
      } else {
        n = Glibc.read(fd, base, buffer.count - done)
      }
      if n < 0 {
        if errno == EINTR { continue }
        throw InputFile.osError(displayName, "read failed")
      }
      if n == 0 { break }
      done += n
    }
    return done
  }

  /// Exactly `count` bytes from `offset` of a regular file.
  func read(at offset: Int, count: Int, what: @autoclosure () -> String, tensor: String? = nil) throws -> [UInt8] {
    precondition(isSeekable)
    guard let size, offset >= 0, count >= 0, offset <= size, count <= size - offset else {
      throw TensorFileError(
        .truncated, file: displayName, tensor: tensor,
        "file ends before the \(count) bytes of \(what()) at offset \(offset)")
    }
    try checkAllocatable(count, what: what(), tensor: tensor)
    var bytes = [UInt8](unsafeUninitializedCapacity: count) { $1 = count }
    let got = try bytes.withUnsafeMutableBytes { try fill($0, at: offset) }
    guard got == count else {
      throw TensorFileError(
        .truncated, file: displayName, tensor: tensor,
        "file ends before the \(count) bytes of \(what()) at offset \(offset)")
    }
    return bytes
  }

  /// The next `count` bytes in order. On a stream the buffer grows as data arrives, so a count
  /// that the input does not back fails with `truncated` instead of a huge allocation.
  func readNext(_ count: Int, what: @autoclosure () -> String, tensor: String? = nil) throws -> [UInt8] {
    if isSeekable {
      let bytes = try read(at: position, count: count, what: what(), tensor: tensor)
      position += count
      return bytes
    }
    var bytes: [UInt8] = []
    try readNext(count, into: &bytes, what: what(), tensor: tensor)
    if bytes.count > count { bytes.removeSubrange(count...) }
    return bytes
  }

  /// The next `count` bytes in order, into `buffer[0..<count]`. The buffer is reused: it only
  /// grows, and on a stream only as data arrives (so a lying count fails with `truncated` first).
  func readNext(_ count: Int, into buffer: inout [UInt8], what: @autoclosure () -> String, tensor: String? = nil) throws
  {
    func ensure(_ size: Int, keeping kept: Int) throws {
      guard buffer.count < size else { return }
      let capacity = max(size, min(count, 2 * buffer.count))
      try checkAllocatable(capacity, what: what(), tensor: tensor)
      var grown = [UInt8](unsafeUninitializedCapacity: capacity) { $1 = $0.count }
      grown.withUnsafeMutableBufferPointer { out in
        buffer.withUnsafeBufferPointer { old in
          _ = out.initialize(from: old.prefix(kept))
        }
      }
      buffer = grown
    }
    if isSeekable {
      guard let size, count <= size - position else {
        throw TensorFileError(
          .truncated, file: displayName, tensor: tensor,
          "file ends before the \(count) bytes of \(what()) at offset \(position)")
      }
      try ensure(count, keeping: 0)
      let got = try buffer.withUnsafeMutableBytes {
        try fill(UnsafeMutableRawBufferPointer(rebasing: $0[0..<count]), at: position)
      }
      guard got == count else {
        throw TensorFileError(.truncated, file: displayName, tensor: tensor, "file ends inside \(what())")
      }
      position += count
      return
    }
    var filled = 0
    while filled < count {
      let chunk = min(streamChunk, count - filled)
      try ensure(filled + chunk, keeping: filled)
      let got = try buffer.withUnsafeMutableBytes {
        try fill(UnsafeMutableRawBufferPointer(rebasing: $0[filled..<filled + chunk]), at: nil)
      }
      position += got
      filled += got
      if got < chunk {
        throw TensorFileError(
          .truncated, file: displayName, tensor: tensor,
          "input ends after \(filled) of the \(count) bytes of \(what())")
      }
    }
  }

  /// Swift stops the process when an array cannot be allocated: a size the file backs is tried
  /// with malloc first, so that a memory limit gives an error instead.
  private func checkAllocatable(_ count: Int, what: @autoclosure () -> String, tensor: String?) throws {
    guard canAllocate(count) else {
      throw TensorFileError(
        .limitExceeded, file: displayName, tensor: tensor,
        "cannot allocate the \(count) bytes of memory \(what()) needs")
    }
  }

  /// Up to `count` bytes in order; fewer only when the input ends first.
  func readUpTo(_ count: Int) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let got = try bytes.withUnsafeMutableBytes { try fill($0, at: isSeekable ? position : nil) }
    position += got
    return Array(bytes[0..<got])
  }

  /// True when no byte follows the current position (reads one byte on a stream to find out).
  func atEnd() throws -> Bool {
    if let size { return position >= size }
    var byte: UInt8 = 0
    let got = try withUnsafeMutableBytes(of: &byte) { try fill($0, at: nil) }
    position += got
    return got == 0
  }

  func seek(to offset: Int) {
    precondition(isSeekable)
    position = offset
  }
}
