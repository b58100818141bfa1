// numpy .npy and .npz: dtypes, byte order, Fortran order, archives written by numpy, malformed files.

import Importers
import Testing

@Suite struct NumpyTests {
  @Test func littleEndianTypes() throws {
    let float = try NumpyArray(
      npy: Fixture.npy(descr: "<f4", shape: "(2,)", data: [0, 0, 0xC0, 0x3F, 0, 0, 0x80, 0xBF]), file: "f")
    #expect(float.dtypeName == "F32")
    #expect(float.shape == [2])
    #expect(float.doubles() == [1.5, -1])
    let long = try NumpyArray(
      npy: Fixture.npy(descr: "<i8", shape: "(1, 1)", data: [0xFE] + [UInt8](repeating: 0xFF, count: 7)), file: "i")
    #expect(long.dtypeName == "I64")
    #expect(try long.integers(file: "i") == [-2])
    let bytes = try NumpyArray(npy: Fixture.npy(descr: "|u1", shape: "(3,)", data: [0, 128, 255]), file: "u")
    #expect(bytes.dtypeName == "U8")
    #expect(try bytes.integers(file: "u") == [0, 128, 255])
    let bools = try NumpyArray(npy: Fixture.npy(descr: "|b1", shape: "(2,)", data: [1, 0]), file: "b")
    #expect(bools.dtypeName == "BOOL")
    let scalar = try NumpyArray(npy: Fixture.npy(descr: "<u2", shape: "()", data: [1, 2]), file: "s")
    #expect(scalar.shape == [])
    #expect(scalar.doubles() == [513])
  }

  @Test func halfFloatsFromNumpy() throws {
    let half = try NumpyArray(npy: Fixture.halfNpy, file: "h")
    #expect(half.dtypeName == "F16")
    #expect(half.doubles() == [1, -2.5, 65504])
  }

  @Test func bigEndianFortranOrderBecomesLittleEndianRowMajor() throws {
    let array = try NumpyArray(npy: Fixture.fortranBigEndianNpy, file: "f")
    #expect(array.dtypeName == "I32")
    #expect(array.shape == [2, 3])
    #expect(try array.integers(file: "f") == [0, 1, 2, 3, 4, 5])
    #expect(Array(array.data[4..<8]) == [1, 0, 0, 0])
  }

  @Test func npzStoredAndDeflated() throws {
    let scratch = Scratch()
    let stored = try NumpyArray.readNPZ(path: scratch.write("a.npz", Fixture.npz))
    #expect(stored.map(\.name) == ["a", "b"])
    #expect(try stored[0].array.integers(file: "a") == [1, -2, 3, 4])
    #expect(stored[0].array.shape == [2, 2])
    #expect(stored[1].array.doubles() == [0.5, -1.5])
    let deflated = try NumpyArray.readNPZ(path: scratch.write("d.npz", Fixture.npzCompressed))
    let dataset = try Dataset.fromNumpy(
      images: deflated[0].array, labels: deflated[1].array,
      imagesFile: "d.npz:images.npy", labelsFile: "d.npz:labels.npy")
    #expect(dataset.images == .u8([0, 1, 2, 3, 4, 5, 6, 7]))
    #expect(dataset.labels == [1, 0])
    #expect([dataset.channels, dataset.height, dataset.width] == [1, 2, 2])
  }

  @Test func floatImagesStayFloats() throws {
    let images = NumpyArray(kind: .float, itemSize: 4, shape: [1, 1, 1], data: [0, 0, 0, 0x3F])
    let labels = NumpyArray(kind: .int, itemSize: 8, shape: [1], data: [UInt8](repeating: 0, count: 8))
    let dataset = try Dataset.fromNumpy(images: images, labels: labels, imagesFile: "i", labelsFile: "l")
    #expect(dataset.images == .f32([0.5]))
  }

  @Test func badMagic() {
    #expect(throws: ImportError(.unrecognised, "x", "not a .npy file: the magic \\x93NUMPY is missing")) {
      try NumpyArray(npy: Array("NUMPY.....".utf8), file: "x")
    }
  }

  @Test func unsupportedVersion() {
    var bytes = Fixture.npy(descr: "<f4", shape: "(0,)", data: [])
    bytes[6] = 9
    #expect(throws: ImportError(.unsupported, "x", ".npy format version 9.0 is not supported (1, 2, 3 are)")) {
      try NumpyArray(npy: bytes, file: "x")
    }
  }

  @Test func headerLongerThanFile() {
    var bytes = Fixture.npy(descr: "<f4", shape: "(0,)", data: [])
    bytes[9] = 0x7F
    #expect((#expect(throws: ImportError.self) { try NumpyArray(npy: bytes, file: "x") })?.kind == .truncated)
  }

  @Test func objectAndRecordDtypesAreRefused() {
    #expect(throws: ImportError(.unsupported, "x", "numpy dtype '|O' is not supported (bool, integers and floats are)"))
    {
      try NumpyArray(npy: Fixture.npy(descr: "|O", shape: "(1,)", data: []), file: "x")
    }
    #expect(
      throws: ImportError(.unsupported, "x", "numpy dtype '<c8' is not supported (bool, integers and floats are)")
    ) {
      try NumpyArray(npy: Fixture.npy(descr: "<c8", shape: "(1,)", data: []), file: "x")
    }
    let record =
      [0x93] + Array("NUMPY".utf8) + [1, 0, 62, 0]
      + Array("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }       \n".utf8)
    #expect((#expect(throws: ImportError.self) { try NumpyArray(npy: record, file: "x") })?.kind == .malformed)
  }

  @Test func dataSizeMustMatchShape() {
    #expect(throws: ImportError(.truncated, "x", ".npy data has 3 bytes, shape [2] of <f4 needs 8")) {
      try NumpyArray(npy: Fixture.npy(descr: "<f4", shape: "(2,)", data: [0, 0, 0]), file: "x")
    }
  }

  @Test func hugeShapeIsRefusedBeforeAllocating() {
    #expect(throws: ImportError(.limitExceeded, "x", ".npy shape [4294967296, 4294967296] is too large")) {
      try NumpyArray(npy: Fixture.npy(descr: "<f8", shape: "(4294967296, 4294967296)", data: []), file: "x")
    }
  }

  @Test func malformedHeaderDict() {
    let error = #expect(throws: ImportError.self) {
      try NumpyArray(npy: Fixture.npy(descr: "<f4", shape: "[2]", data: []), file: "x")
    }
    #expect(error?.kind == .malformed)
  }

  @Test func npzWithAForeignMember() {
    let scratch = Scratch()
    let path = scratch.write("w.npz", Fixture.wheel)
    #expect(
      throws: ImportError(.unrecognised, path, "member pkg/data/table.csv.gz of the .npz archive is not a .npy file")
    ) {
      try NumpyArray.readNPZ(path: path)
    }
  }

  @Test func notAZip() {
    let scratch = Scratch()
    let path = scratch.write("n.npz", Array("not a zip at all".utf8))
    #expect((#expect(throws: ImportError.self) { try NumpyArray.readNPZ(path: path) })?.kind == .unrecognised)
  }

  @Test func labelsMustBeIntegers() {
    let images = NumpyArray(kind: .uint, itemSize: 1, shape: [1, 1, 1], data: [0])
    let labels = NumpyArray(kind: .float, itemSize: 4, shape: [1], data: [0, 0, 0, 0])
    #expect(throws: ImportError(.invalidDataset, "l", "expected integers, the array holds F32")) {
      try Dataset.fromNumpy(images: images, labels: labels, imagesFile: "i", labelsFile: "l")
    }
  }
}
