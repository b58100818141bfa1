import Foundation
import TensorFile

extension Dataset {
  /// A dataset from an image folder: one sub-folder per class (sorted by name: the first is
  /// label 0, its name the class name), each holding PNG, JPEG or TIFF files (.png, .jpg, .jpeg, .tif, .tiff, any
  /// case), read in sorted name order. Hidden entries and other files are skipped.
  /// `channels`: 1 (grey) or 3 (RGB); nil takes 1 when every image is grey, otherwise 3.
  /// Without `resize`, all images must have the same size; with it, each is resized on loading.
  public static func fromImageFolder(
    path: String, channels: Int? = nil,
    resize: (height: Int, width: Int, method: ResizeMethod)? = nil,
    limits: ImportLimits = .standard
  ) throws -> Dataset {
    let manager = FileManager.default
    var isDirectory: ObjCBool = false
    guard manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw ImportError(.io, path, "not a folder")
    }
    if let channels, channels != 1 && channels != 3 {
      throw ImportError(.invalidOption, path, "channels must be 1 or 3, not \(channels)")
    }
    let entries = try sortedEntries(path)
    var classNames: [String] = []
    var files: [(label: Int64, path: String)] = []
    for entry in entries {
      let entryPath = path + "/" + entry
      guard manager.fileExists(atPath: entryPath, isDirectory: &isDirectory) else { continue }
      if !isDirectory.boolValue {
        if isImageFileName(entry) {
          throw ImportError(.invalidDataset, entryPath, "images must be inside one sub-folder per class")
        }
        continue
      }
      let images = try sortedEntries(entryPath).filter(isImageFileName)
      guard !images.isEmpty else {
        throw ImportError(.invalidDataset, entryPath, "class folder holds no PNG, JPEG or TIFF images")
      }
      let label = Int64(classNames.count)
      classNames.append(entry)
      files += images.map { (label, entryPath + "/" + $0) }
    }
    guard !files.isEmpty else {
      throw ImportError(.invalidDataset, path, "no class sub-folders with PNG, JPEG or TIFF images")
    }

    var outChannels = channels
    if outChannels == nil {
      outChannels = 1
      for file in files
      where try ImageDecoder.header(readFile(file.path, limits: limits), file: file.path).channels == 3 {
        outChannels = 3
        break
      }
    }
    let channelCount = outChannels!

    var pixels: [UInt8] = []
    var size: (height: Int, width: Int)? = resize.map { ($0.height, $0.width) }
    for file in files {
      let image = try ImageDecoder.decode(
        readFile(file.path, limits: limits), channels: channelCount, file: file.path, limits: limits)
      var planar = image.planar
      if let resize {
        planar = Resizer.bytes(
          planar, channels: channelCount, image.height, image.width,
          to: resize.height, resize.width, method: resize.method)
      } else if let size, size != (image.height, image.width) {
        throw ImportError(
          .invalidDataset,
          file.path,
          "image is \(image.width)x\(image.height), the first was \(size.width)x\(size.height): give a resize")
      } else {
        size = (image.height, image.width)
      }
      guard pixels.count + planar.count <= limits.maxElements else {
        throw ImportError(.limitExceeded, path, "more than \(limits.maxElements) pixel values")
      }
      pixels += planar
    }
    return try Dataset(
      images: .u8(pixels), channels: channelCount, height: size!.height, width: size!.width,
      labels: files.map(\.label), classes: classNames, file: path)
  }

  private static func sortedEntries(_ path: String) throws -> [String] {
    do {
      // Byte order, not the locale's: the same folder gives the same labels everywhere.
      return try FileManager.default.contentsOfDirectory(atPath: path)
        .filter { !$0.hasPrefix(".") }
        .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    } catch {
      throw ImportError(.io, path, "cannot list the folder: \(error.localizedDescription)")
    }
  }

  /// The file's bytes, once its size is checked against the limit and the allocator.
  static func readFile(_ path: String, limits: ImportLimits) throws -> [UInt8] {
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    guard size <= limits.maxBytes else {
      throw ImportError(
        .limitExceeded, path, "\(size) bytes, over the limit of \(limits.maxBytes)\(ArchiveInput.raiseHint)")
    }
    guard canAllocate(2 * size) else {
      throw ImportError(.limitExceeded, path, "cannot allocate the memory to read its \(size) bytes")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ImportError(.io, path, "cannot read the file")
    }
    return [UInt8](data)
  }
}
