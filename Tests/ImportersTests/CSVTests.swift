// CSV image tables: label position, header detection, text labels, floats, and malformed tables.

import Importers
import Testing

@Suite struct CSVTests {
  func table(_ text: String, _ options: CSVImageOptions = CSVImageOptions()) throws -> Dataset {
    try Dataset.fromCSV(bytes: Array(text.utf8), file: "t.csv", options: options)
  }

  @Test func pixelsThenLabel() throws {
    let dataset = try table("1,2,3,4,7\r\n5,6,7,8,2\n\n")
    #expect(dataset.labels == [7, 2])
    #expect([dataset.channels, dataset.height, dataset.width] == [1, 2, 2])
    #expect(dataset.images == .u8([1, 2, 3, 4, 5, 6, 7, 8]))
  }

  @Test func labelColumnByNameWithHeader() throws {
    let dataset = try table("digit,p0,p1,p2,p3\n3,0,0,255,1\n", CSVImageOptions(labelColumn: .named("digit")))
    #expect(dataset.labels == [3])
    #expect(dataset.images == .u8([0, 0, 255, 1]))
  }

  @Test func labelFirstAndGivenShape() throws {
    let dataset = try table("1,10,20,30,40,50,60\n", CSVImageOptions(labelColumn: .first, shape: (3, 1, 2)))
    #expect([dataset.channels, dataset.height, dataset.width] == [3, 1, 2])
    #expect(dataset.images == .u8([10, 20, 30, 40, 50, 60]))
  }

  @Test func nonBytePixelsBecomeFloats() throws {
    let dataset = try table("0.5,1,2,300,0\n")
    #expect(dataset.images == .f32([0.5, 1, 2, 300]))
  }

  @Test func textLabelsBecomeSortedClasses() throws {
    let dataset = try table("1,2,3,4,\"shoe\"\n1,2,3,4,bag\n")
    #expect(dataset.classes == ["bag", "shoe"])
    #expect(dataset.labels == [1, 0])
  }

  @Test func readsAMemberOfAZipThatIsItselfGzip() throws {
    let scratch = Scratch()
    let wheel = scratch.write("pkg.whl", Fixture.wheel)
    #expect(try ArchiveInput.members(ofZip: wheel) == ["pkg/data/table.csv.gz", "pkg/readme.txt"])
    let member = try ArchiveInput.readMember("pkg/data/table.csv.gz", ofZip: wheel)
    let csv = try ArchiveInput.decompress(member, name: "\(wheel):pkg/data/table.csv.gz")
    #expect(String(decoding: csv, as: UTF8.self) == "1,2,3,4,7\n5,6,7,8,2\n")
    #expect(try ArchiveInput.decompress(Array("plain".utf8), name: "p") == Array("plain".utf8))
    #expect(throws: ImportError(.notFound, wheel, "no member named nope.csv in the archive")) {
      try ArchiveInput.readMember("nope.csv", ofZip: wheel)
    }
  }

  @Test func emptyFilesPlainOrGzipReadAsEmpty() throws {
    let scratch = Scratch()
    let emptyGzip: [UInt8] = [31, 139, 8, 0, 0, 0, 0, 0, 2, 255, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    #expect(try ArchiveInput.readDecompressed(path: scratch.write("e.csv", [])) == [])
    #expect(try ArchiveInput.readDecompressed(path: scratch.write("e.csv.gz", emptyGzip)) == [])
    let path = scratch.write("f.csv.gz", emptyGzip)
    #expect(throws: ImportError(.invalidDataset, path, "the CSV table is empty")) {
      try Dataset.fromCSV(bytes: ArchiveInput.readDecompressed(path: path), file: path)
    }
  }

  @Test func emptyTable() {
    #expect(throws: ImportError(.invalidDataset, "t.csv", "the CSV table is empty")) { try table("\n\n") }
  }

  @Test func headerWithoutRows() {
    #expect(throws: ImportError(.invalidDataset, "t.csv", "the CSV table has a header and no rows")) {
      try table("a,b\n")
    }
  }

  @Test func raggedRow() {
    #expect(throws: ImportError(.malformed, "t.csv", "line 2 has 4 columns, expected 5")) {
      try table("1,2,3,4,7\n1,2,3,4\n")
    }
  }

  @Test func textInAPixelColumn() {
    #expect(throws: ImportError(.malformed, "t.csv", "line 2, column 2: \"x\" is not a finite number")) {
      try table("p0,p1,p2,p3,label\n1,x,3,4,7\n")
    }
  }

  @Test func notASquare() {
    #expect(
      throws: ImportError(.invalidOption, "t.csv", "3 pixel columns are not a square image: give the image shape")
    ) {
      try table("1,2,3,7\n")
    }
  }

  @Test func shapeDisagreesWithColumns() {
    #expect(throws: ImportError(.invalidOption, "t.csv", "image shape 1x3x3 needs 9 pixel columns, the table has 4")) {
      try table("1,2,3,4,7\n", CSVImageOptions(shape: (1, 3, 3)))
    }
  }

  @Test func missingNamedColumn() {
    #expect(throws: ImportError(.notFound, "t.csv", "no column named \"y\" in the header")) {
      try table("a,b,c,d,e\n1,2,3,4,5\n", CSVImageOptions(labelColumn: .named("y")))
    }
    #expect(throws: ImportError(.notFound, "t.csv", "the CSV table has no header row to find column \"y\" in")) {
      try table("1,2,3,4,5\n", CSVImageOptions(labelColumn: .named("y")))
    }
  }

  @Test func negativeLabel() {
    #expect(throws: ImportError(.invalidDataset, "t.csv", "label -1 is negative")) { try table("1,2,3,4,-1\n") }
  }

  @Test func binaryData() {
    #expect(throws: ImportError(.unrecognised, "t.csv", "not a CSV table: the data contains zero bytes")) {
      try Dataset.fromCSV(bytes: [0x31, 0, 0x32], file: "t.csv")
    }
  }
}
