import CArchive
import Foundation

/// Reading through libarchive, the one file that imports it: whole files that may be compressed
/// (gzip, bzip2, xz, zstd, or none; libarchive's "raw" format with its filters) and members of zip
/// archives (wheels, .npz).
public enum ArchiveInput {
  /// The content of the file at `path`, decompressed when it is compressed.
  public static func readDecompressed(path: String, limits: ImportLimits = .standard) throws -> [UInt8] {
    try withRawReader(name: path, limits: limits) { archive in
      archive_read_open_filename(archive, path, 1 << 16)
    }
  }

  /// `bytes` decompressed when they are compressed, unchanged otherwise. `name` is used in errors.
  public static func decompress(_ bytes: [UInt8], name: String, limits: ImportLimits = .standard) throws -> [UInt8] {
    if bytes.isEmpty { return [] }
    return try bytes.withUnsafeBytes { buffer in
      try withRawReader(name: name, limits: limits) { archive in
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
    try forEachZipMember(path: path) { name, read in
      guard name == member else { return true }
      found = try read(limits)
      return false
    }
    guard let bytes = found else {
      throw ImportError(path, "no member named \(member) in the archive")
    }
    return bytes
  }

  /// Calls `body` with each regular-file member's name and a function that reads its bytes;
  /// stops when `body` returns false.
  public static func forEachZipMember(
    path: String, _ body: (String, (ImportLimits) throws -> [UInt8]) throws -> Bool
  ) throws {
    try forEachZipMember(name: path, open: { archive_read_open_filename($0, path, 1 << 16) }, body)
  }

  /// The same for a zip archive in memory (e.g. a checkpoint that is itself a member of a wheel);
  /// `name` is used in errors.
  public static func forEachZipMember(
    bytes: [UInt8], name: String, _ body: (String, (ImportLimits) throws -> [UInt8]) throws -> Bool
  ) throws {
    try bytes.withUnsafeBytes { buffer in
      try forEachZipMember(name: name, open: { archive_read_open_memory($0, buffer.baseAddress, buffer.count) }, body)
    }
  }

  private static func forEachZipMember(
    name path: String, open: (OpaquePointer) -> Int32, _ body: (String, (ImportLimits) throws -> [UInt8]) throws -> Bool
  ) throws {
    guard let archive = archive_read_new() else { throw ImportError(path, "cannot start libarchive") }
    defer { archive_read_free(archive) }
    archive_read_support_format_zip(archive)
    guard open(archive) == ARCHIVE_OK else {
      throw ImportError(path, "not a readable zip archive: \(message(archive))")
    }
    while true {
      var entry: OpaquePointer?
      let status = archive_read_next_header(archive, &entry)
      if status == ARCHIVE_EOF { return }
      guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
        throw ImportError(path, "damaged zip archive: \(message(archive))")
      }
      guard archive_entry_filetype(entry) == 0o100000 /* AE_IFREG, a cast macro Swift cannot import */,
        let cName = archive_entry_pathname(entry)
      else { continue }
      let name = String(cString: cName)
      let declared = archive_entry_size_is_set(entry) != 0 ? Int(archive_entry_size(entry)) : nil
      let keepGoing = try body(name) { limits in
        try readData(archive, name: "\(path):\(name)", expected: declared, limits: limits)
      }
      if !keepGoing { return }
    }
  }

  // MARK: - Internals

  private static func withRawReader(
    name: String, limits: ImportLimits, open: (OpaquePointer) -> Int32
  ) throws -> [UInt8] {
    guard let archive = archive_read_new() else { throw ImportError(name, "cannot start libarchive") }
    defer { archive_read_free(archive) }
    archive_read_support_format_raw(archive)
    archive_read_support_format_empty(archive)  // the raw format needs at least one byte
    archive_read_support_filter_gzip(archive)
    archive_read_support_filter_bzip2(archive)
    archive_read_support_filter_xz(archive)
    archive_read_support_filter_zstd(archive)
    guard open(archive) == ARCHIVE_OK else {
      throw ImportError(name, "cannot open: \(message(archive))")
    }
    var entry: OpaquePointer?
    let status = archive_read_next_header(archive, &entry)
    if status == ARCHIVE_EOF { return [] }  // empty input
    guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
      throw ImportError(name, "cannot read: \(message(archive))")
    }
    return try readData(archive, name: name, expected: nil, limits: limits)
  }

  private static func readData(_ archive: OpaquePointer, name: String, expected: Int?, limits: ImportLimits) throws
    -> [UInt8]
  {
    if let expected, expected > limits.maxBytes {
      throw ImportError(name, "\(expected) bytes uncompressed, over the limit of \(limits.maxBytes)")
    }
    var bytes: [UInt8] = []
    // A size the archive claims is only a hint: reserve a bounded amount, grow with the real data.
    if let expected, expected > 0 { bytes.reserveCapacity(min(expected, 1 << 28)) }
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = chunk.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
      if count == 0 { break }
      guard count > 0 else {
        throw ImportError(name, "damaged or truncated compressed data: \(message(archive))")
      }
      guard bytes.count + count <= limits.maxBytes else {
        throw ImportError(name, "more than \(limits.maxBytes) bytes uncompressed, over the limit")
      }
      bytes.append(contentsOf: chunk[0..<count])
    }
    return bytes
  }

  private static func message(_ archive: OpaquePointer) -> String {
    archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
  }
}
