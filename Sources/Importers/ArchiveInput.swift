import CArchive
import Foundation
import TensorFile

/// Reading through libarchive, the one file that imports it: whole files that may be compressed
/// (gzip, bzip2, xz, zstd, or none; libarchive's "raw" format with its filters) and members of zip
/// archives (wheels, .npz). Data is handed out as an `ArchiveStream`, so that a format can read its
/// header, check what it claims against what the archive can hold and the limits, and only then
/// allocate: no stream inflates past what it declares, what its reader asked for, or the limit.
public enum ArchiveInput {
  /// The content of the file at `path`, decompressed when it is compressed.
  public static func readDecompressed(path: String, limits: ImportLimits = .standard) throws -> [UInt8] {
    try withDecompressed(path: path, limits: limits) { try $0.readToEnd() }
  }

  /// `bytes` decompressed when they are compressed, unchanged otherwise. `name` is used in errors.
  public static func decompress(_ bytes: [UInt8], name: String, limits: ImportLimits = .standard) throws -> [UInt8] {
    if bytes.isEmpty { return [] }
    return try withDecompressed(bytes: bytes, name: name, limits: limits) { try $0.readToEnd() }
  }

  /// Calls `body` with the decompressed content of the file at `path` as a stream.
  public static func withDecompressed<T>(
    path: String, limits: ImportLimits = .standard, _ body: (ArchiveStream) throws -> T
  ) throws -> T {
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    return try withRawReader(name: path, inputSize: size, limits: limits, body: body) { archive in
      archive_read_open_filename(archive, path, 1 << 16)
    }
  }

  /// The same for bytes in memory (e.g. a member of a wheel); `name` is used in errors.
  public static func withDecompressed<T>(
    bytes: [UInt8], name: String, limits: ImportLimits = .standard, _ body: (ArchiveStream) throws -> T
  ) throws -> T {
    try bytes.withUnsafeBytes { buffer in
      try withRawReader(name: name, inputSize: buffer.count, limits: limits, body: body) { archive in
        archive_read_open_memory(archive, buffer.baseAddress, buffer.count)
      }
    }
  }

  /// Whether the file starts like a zip archive ("PK\3\4", or "PK\5\6" when it is empty).
  public static func isZip(path: String) -> Bool {
    guard let handle = FileHandle(forReadingAtPath: path) else { return false }
    defer { try? handle.close() }
    let magic = [UInt8]((try? handle.read(upToCount: 4)) ?? Data())
    return magic == [0x50, 0x4B, 3, 4] || magic == [0x50, 0x4B, 5, 6]
  }

  /// The names of the regular-file members of the zip archive at `path`, in archive order.
  public static func members(ofZip path: String) throws -> [String] {
    var names: [String] = []
    try forEachZipMember(path: path) { name, _ in
      names.append(name)
      return true
    }
    return names
  }

  /// The bytes of member `member` of the zip archive at `path` (stored or deflated).
  public static func readMember(_ member: String, ofZip path: String, limits: ImportLimits = .standard) throws
    -> [UInt8]
  {
    var found: [UInt8]?
    try forEachZipMember(path: path, limits: limits) { name, stream in
      guard name == member else { return true }
      found = try stream.readToEnd()
      return false
    }
    guard let bytes = found else {
      throw ImportError(.notFound, path, "no member named \(member) in the archive")
    }
    return bytes
  }

  /// Calls `body` with each regular-file member's name and its data as a stream (named
  /// `path:member` in errors; members `body` does not read are skipped without inflating them);
  /// stops when `body` returns false.
  public static func forEachZipMember(
    path: String, limits: ImportLimits = .standard, _ body: (String, ArchiveStream) throws -> Bool
  ) throws {
    try forEachZipMember(name: path, limits: limits, open: { archive_read_open_filename($0, path, 1 << 16) }, body)
  }

  /// The same for a zip archive in memory (e.g. a checkpoint that is itself a member of a wheel);
  /// `name` is used in errors.
  public static func forEachZipMember(
    bytes: [UInt8], name: String, limits: ImportLimits = .standard, _ body: (String, ArchiveStream) throws -> Bool
  ) throws {
    try bytes.withUnsafeBytes { buffer in
      try forEachZipMember(
        name: name, limits: limits, open: { archive_read_open_memory($0, buffer.baseAddress, buffer.count) }, body)
    }
  }

  private static func forEachZipMember(
    name path: String, limits: ImportLimits, open: (OpaquePointer) -> Int32,
    _ body: (String, ArchiveStream) throws -> Bool
  ) throws {
    guard let archive = archive_read_new() else { throw ImportError(.io, path, "cannot start libarchive") }
    defer { archive_read_free(archive) }
    archive_read_support_format_zip(archive)
    guard open(archive) == ARCHIVE_OK else {
      throw ImportError(.unrecognised, path, "not a readable zip archive: \(message(archive))")
    }
    while true {
      var entry: OpaquePointer?
      let status = archive_read_next_header(archive, &entry)
      if status == ARCHIVE_EOF { return }
      guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
        throw ImportError(.malformed, path, "damaged zip archive: \(message(archive))")
      }
      guard archive_entry_filetype(entry) == 0o100000 /* AE_IFREG, a cast macro Swift cannot import */,
        let cName = archive_entry_pathname(entry)
      else { continue }
      let name = String(cString: cName)
      let declared = archive_entry_size_is_set(entry) != 0 ? Int(archive_entry_size(entry)) : nil
      let stream = ArchiveStream(
        archive, name: "\(path):\(name)", holds: declared.map { .declared($0) } ?? .unknown, limits: limits)
      let keepGoing = try body(name, stream)
      if !keepGoing { return }
    }
  }

  /// What an error about a limit adds: how to raise it.
  static let raiseHint = " (\(ImportLimits.bytesVariable) raises it)"

  // MARK: - Internals

  private static func withRawReader<T>(
    name: String, inputSize: Int?, limits: ImportLimits, body: (ArchiveStream) throws -> T,
    open: (OpaquePointer) -> Int32
  ) throws -> T {
    guard let archive = archive_read_new() else { throw ImportError(.io, name, "cannot start libarchive") }
    defer { archive_read_free(archive) }
    archive_read_support_format_raw(archive)
    archive_read_support_format_empty(archive)  // the raw format needs at least one byte
    archive_read_support_filter_gzip(archive)
    archive_read_support_filter_bzip2(archive)
    archive_read_support_filter_xz(archive)
    archive_read_support_filter_zstd(archive)
    guard open(archive) == ARCHIVE_OK else {
      // libarchive gives a failed open(2) its errno, and a damaged stream (read ahead here) its own codes.
      let code = archive_errno(archive)
      throw ImportError(code > 0 && code != EILSEQ ? .io : .malformed, name, "cannot open: \(message(archive))")
    }
    var entry: OpaquePointer?
    let status = archive_read_next_header(archive, &entry)
    guard status == ARCHIVE_OK || status == ARCHIVE_WARN || status == ARCHIVE_EOF else {
      throw ImportError(.malformed, name, "cannot read: \(message(archive))")
    }
    // What the input can hold at most: a file stored as it is holds its own size; deflate (gzip)
    // expands at most 1032-fold and zstd 32768-fold (a 4-byte block of one repeated byte becomes
    // 128 KiB). bzip2 and xz have no such small bound; the limit alone applies to them.
    var holds = ArchiveStream.Capacity.unknown
    if let inputSize {
      switch archive_filter_code(archive, 0) {
      case ARCHIVE_FILTER_NONE: holds = .stored(inputSize)
      case ARCHIVE_FILTER_GZIP: holds = .inflated(inputSize * 1032, "a gzip stream of \(inputSize) bytes")
      case ARCHIVE_FILTER_ZSTD: holds = .inflated(inputSize * 32768, "a zstd stream of \(inputSize) bytes")
      default: break
      }
    }
    let stream = ArchiveStream(archive, name: name, holds: holds, limits: limits, empty: status == ARCHIVE_EOF)
    return try body(stream)
  }

  static func message(_ archive: OpaquePointer) -> String {
    archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
  }
}

/// The decompressed data of one file or zip member, read in order. It lives only inside the call
/// that hands it out. Every read is bounded three ways before anything is allocated: by what the
/// reader asks for (the size its format's header claims), by the limit, and by what the input can
/// hold (the size a zip declares, the file's own size, a codec's largest ratio); buffers then grow
/// only as data actually arrives, and a member may not inflate past the size its archive declares.
public final class ArchiveStream {
  /// How much data the input can hold at most.
  enum Capacity {
    /// A zip member: exactly what its archive declares.
    case declared(Int)
    /// A file stored as it is: its size.
    case stored(Int)
    /// A compressed file: its size times its codec's largest ratio, and a description for errors.
    case inflated(Int, String)
    case unknown
  }

  /// The file, or `archive:member`, as errors name it.
  public let name: String
  public let limits: ImportLimits
  /// Bytes handed out so far.
  public private(set) var position = 0
  private let archive: OpaquePointer
  private let holds: Capacity
  private var ended: Bool

  fileprivate init(_ archive: OpaquePointer, name: String, holds: Capacity, limits: ImportLimits, empty: Bool = false) {
    self.archive = archive
    self.name = name
    self.holds = holds
    self.limits = limits
    self.ended = empty
  }

  /// The size the zip archive declares for the member; nil for a file, which does not say.
  public var declaredSize: Int? {
    if case .declared(let size) = holds { return size }
    return nil
  }

  /// Checks that `count` more bytes, which `what` needs, fit the limit and, for a compressed file,
  /// what its codec can inflate it to; throws otherwise, before any of them is read. (A stored
  /// file or a zip member that holds less simply comes out short, which the reader reports.)
  public func check(_ count: Int, for what: @autoclosure () -> String) throws {
    let (end, overflow) = position.addingReportingOverflow(count)
    guard !overflow, end <= limits.maxBytes else {
      throw ImportError(
        .limitExceeded,
        name, "\(what()) needs \(count) bytes, over the limit of \(limits.maxBytes)\(ArchiveInput.raiseHint)")
    }
    if case .inflated(let bound, let input) = holds, end > bound {
      throw ImportError(.truncated, name, "\(what()) needs \(count) bytes, more than \(input) can hold")
    }
  }

  /// The next `count` bytes, or fewer when the data ends first. `what` names them in errors.
  public func read(upTo count: Int, what: @autoclosure () -> String) throws -> [UInt8] {
    try check(count, for: what())
    return try fill(count, what: what())
  }

  /// Everything that is left, up to the limit.
  public func readToEnd() throws -> [UInt8] {
    let room = limits.maxBytes - position
    if let declaredSize, declaredSize - position > room {
      throw ImportError(
        .limitExceeded,
        name, "\(declaredSize) bytes uncompressed, over the limit of \(limits.maxBytes)\(ArchiveInput.raiseHint)")
    }
    let bytes = try fill(room == Int.max ? room : room + 1, what: "the data")
    guard bytes.count <= room else {
      throw ImportError(
        .limitExceeded,
        name, "more than \(limits.maxBytes) bytes uncompressed, over the limit\(ArchiveInput.raiseHint)")
    }
    return bytes
  }

  /// True when no data is left (reads one byte ahead to find out, and counts it).
  public func atEnd() throws -> Bool {
    try fill(1, what: "the data").isEmpty
  }

  /// Reads up to `count` bytes. When the input's size is known (a stored file, a declared member)
  /// the buffer is allocated once, one byte larger than what is left (to see a member inflate past
  /// its size); otherwise it starts at 16 MiB and doubles as data arrives. Either way the allocator
  /// is asked first.
  private func fill(_ count: Int, what: @autoclosure () -> String) throws -> [UInt8] {
    if ended || count == 0 { return [] }
    var capacity: Int
    switch holds {
    case .declared(let size), .stored(let size): capacity = min(count, max(0, size - position) + 1)
    case .inflated, .unknown: capacity = min(count, 1 << 24)
    }
    var buffer = try allocate(capacity, what: what())
    var filled = 0
    while filled < count {
      if filled == capacity {
        capacity = min(count, capacity * 2)
        var larger = try allocate(capacity, what: what())
        larger.withUnsafeMutableBytes { to in buffer.withUnsafeBytes { to.copyMemory(from: $0) } }
        buffer = larger
      }
      let got = buffer.withUnsafeMutableBytes { out in
        archive_read_data(archive, out.baseAddress! + filled, min(capacity - filled, 1 << 20))
      }
      if got == 0 {
        ended = true
        break
      }
      guard got > 0 else {
        throw ImportError(.malformed, name, "damaged or truncated compressed data: \(ArchiveInput.message(archive))")
      }
      filled += got
      if let declaredSize, position + filled > declaredSize {
        throw ImportError(.malformed, name, "inflates past the \(declaredSize) bytes its archive declares")
      }
    }
    position += filled
    buffer.removeSubrange(filled...)
    return buffer
  }

  private func allocate(_ count: Int, what: @autoclosure () -> String) throws -> [UInt8] {
    guard canAllocate(count) else {
      throw ImportError(.limitExceeded, name, "cannot allocate the \(count) bytes of memory \(what()) needs")
    }
    return [UInt8](unsafeUninitializedCapacity: count) { $1 = count }
  }
}
