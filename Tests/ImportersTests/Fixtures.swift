// Tiny literal inputs shared by the importer tests, and a scratch folder to write them into.

import Foundation

enum Fixture {
  /// IDX u8 (2, 2, 3) holding 0...11, gzip-compressed (Python's gzip, mtime 0).
  static let idxImagesGzip: [UInt8] = [
    31, 139, 8, 0, 0, 0, 0, 0, 2, 255, 99, 96, 224, 96, 102, 96, 96, 96, 130, 98, 102, 6, 70, 38, 102, 22,
    86, 54, 118, 14, 78, 46, 110, 0, 120, 30, 35, 132, 28, 0, 0, 0,
  ]
  /// The same IDX, plain.
  static let idxImages: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3] + (0..<12).map { UInt8($0) }
  /// IDX u8 labels (2): 7, 1.
  static let idxLabels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 2, 7, 1]

  /// 2x2 grey PNG and JPEG (quality 100) of 0, 64 / 128, 255 (ImageMagick, -strip).
  static let greyPNG = base64(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAABX3VL4AAAADklEQVQI12NgcGBo+A8AAwUBwP4YxqQAAAAASUVORK5CYII=")
  static let greyJPEG = base64(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAACAAIBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACv/EABoQAAMBAQEBAAAAAAAAAAAAAAIDBAgHAQb/2gAIAQEAAD8AWFlrAOEL8x5zuuxRki263hHIa7LK838cpqrqp59886immh3xhufQ9xm1zmmbGsMjMiIvfff/2Q=="
  )
  /// 2x1 palette PNG and colour JPEG: red, blue.
  static let colourPNG = base64(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABAQMAAADO7O3JAAAABlBMVEX/AAAAAP9sof2OAAAACklEQVQI12NwAAAAQgBBg7nsrQAAAABJRU5ErkJggg=="
  )
  static let colourJPEG = base64(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/2wBDAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAARCAABAAIDAREAAhEBAxEB/8QAFAABAAAAAAAAAAAAAAAAAAAACv/EABoQAAEFAQAAAAAAAAAAAAAAAAYABAc2drX/xAAVAQEBAAAAAAAAAAAAAAAAAAAFCv/EABoRAAEFAQAAAAAAAAAAAAAAAAgABjh4twf/2gAMAwEAAhEDEQA/ACLSDfjfXkvaeq04E4QhvVUecjaCLM2YJXWU7pqDpX//2Q=="
  )

  /// numpy 2.4 `np.savez(a=int8 [[1,-2],[3,4]], b=float32 [0.5,-1.5])`: zip64 members with data descriptors.
  static let npz = base64(
    "UEsDBC0AAAAAAAAAIQAlaj7w//////////8FABQAYS5ucHkBABAAhAAAAAAAAACEAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJ3xpMScsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgyLCAyKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAf4DBFBLAwQtAAAAAAAAACEAgebjH///////////BQAUAGIubnB5AQAQAIgAAAAAAAAAiAAAAAAAAACTTlVNUFkBAHYAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgCgAAAD8AAMC/UEsBAi0DLQAAAAAAAAAhACVqPvCEAAAAhAAAAAUAAAAAAAAAAAAAAIABAAAAAGEubnB5UEsBAi0DLQAAAAAAAAAhAIHm4x+IAAAAiAAAAAUAAAAAAAAAAAAAAIABuwAAAGIubnB5UEsFBgAAAAACAAIAZgAAAHoBAAAAAA=="
  )
  /// `np.savez_compressed(images=uint8 arange(8).reshape(2,2,2), labels=int64 [1, 0])`: deflated members.
  static let npzCompressed = base64(
    "UEsDBC0AAAAIAAAAIQBhYP21//////////8KABQAaW1hZ2VzLm5weQEAEACIAAAAAAAAAE8AAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgXlNqqK6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkaRjoKIKSpo1CrQB7gYmBkYmZhZWMHAFBLAwQtAAAACAAAACEAcfs5q///////////CgAUAGxhYmVscy5ucHkBABAAkAAAAAAAAABIAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TaaGuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GkY6mjoKtQoUAC5GBlQAAFBLAQItAy0AAAAIAAAAIQBhYP21TwAAAIgAAAAKAAAAAAAAAAAAAACAAQAAAABpbWFnZXMubnB5UEsBAi0DLQAAAAgAAAAhAHH7OatIAAAAkAAAAAoAAAAAAAAAAAAAAIABiwAAAGxhYmVscy5ucHlQSwUGAAAAAAIAAgBwAAAADwEAAAAA"
  )
  /// `np.save(np.asfortranarray(np.arange(6, dtype='>i4').reshape(2, 3)))`: big-endian, column-major.
  static let fortranBigEndianNpy = base64(
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPmk0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAwAAAAEAAAAEAAAAAgAAAAU="
  )
  /// `np.save(np.array([1.0, -2.5, 65504], dtype=np.float16))`.
  static let halfNpy = base64(
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAPADB/3s="
  )
  /// A wheel-like zip (Python zipfile, deflated): pkg/data/table.csv.gz (gzip of "1,2,3,4,7\n5,6,7,8,2\n")
  /// and pkg/readme.txt ("hello").
  static let wheel = base64(
    "UEsDBBQAAAAAAAAAIVBXXc6sKAAAACgAAAAVAAAAcGtnL2RhdGEvdGFibGUuY3N2Lmd6H4sIAAAAAAAC/zPUMdIx1jHRMecy1THTMdex0DHiAgA/JowiFAAAAFBLAwQUAAAAAAAAACFQhqYQNgUAAAAFAAAADgAAAHBrZy9yZWFkbWUudHh0aGVsbG9QSwECFAMUAAAAAAAAACFQV13OrCgAAAAoAAAAFQAAAAAAAAAAAAAAgAEAAAAAcGtnL2RhdGEvdGFibGUuY3N2Lmd6UEsBAhQDFAAAAAAAAAAhUIamEDYFAAAABQAAAA4AAAAAAAAAAAAAAIABWwAAAHBrZy9yZWFkbWUudHh0UEsFBgAAAAACAAIAfwAAAIwAAAAAAA=="
  )

  static func base64(_ text: String) -> [UInt8] { [UInt8](Data(base64Encoded: text)!) }

  /// A .npy file built by hand: version 1 header padded to 64 bytes, then `data`.
  static func npy(descr: String, shape: String, fortran: Bool = false, data: [UInt8]) -> [UInt8] {
    var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    let length = header.utf8.count
    return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8) + data
  }
}

/// A fresh folder under the system's temporary directory, removed when the value is released.
final class Scratch {
  let path: String

  init() {
    path = NSTemporaryDirectory() + "kswap-importers-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// Writes `bytes` to `name` inside the folder (creating sub-folders) and returns the full path.
  @discardableResult
  func write(_ name: String, _ bytes: [UInt8]) -> String {
    let file = path + "/" + name
    try! FileManager.default.createDirectory(
      atPath: (file as NSString).deletingLastPathComponent,
      withIntermediateDirectories: true)
    precondition(FileManager.default.createFile(atPath: file, contents: Data(bytes)), "cannot write \(file)")
    return file
  }

  func write(_ name: String, text: String) -> String { write(name, Array(text.utf8)) }
}
