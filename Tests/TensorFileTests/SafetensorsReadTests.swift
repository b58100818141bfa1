// The reference reader's rules, each case as literal bytes (reference notes §1.4–1.6).

import Testing

@testable import TensorFile

private let u8Entry = #"{"dtype":"U8","shape":[2],"data_offsets":[0,2]}"#

@Suite struct SafetensorsRejects {
  @Test func emptyInputIsTooSmall() {
    #expect(readError([])?.kind == .headerTooSmall)
    #expect(readError([1, 0, 0])?.kind == .headerTooSmall)
  }

  @Test func eightBytesOnlyIsAnInvalidHeaderLength() {
    #expect(readError(littleEndianBytes(UInt64(8)))?.kind == .invalidHeaderLength)
  }

  @Test func headerLengthBeyondTheFile() {
    #expect(readError(littleEndianBytes(UInt64(100)) + Array("{}".utf8))?.kind == .invalidHeaderLength)
  }

  @Test func headerOverTheLimit() {
    // 200,000,000 (above the 1e8 limit) and a length with 0xff high bytes (test_header_too_large).
    #expect(readError(littleEndianBytes(UInt64(200_000_000)) + Array("{}".utf8))?.kind == .headerTooLarge)
    #expect(readError([0x3c, 0, 0, 0, 0, 0, 0xff, 0xff] + Array("{}".utf8))?.kind == .headerTooLarge)
    #expect(readError(littleEndianBytes(UInt64(100_000_001)))?.kind == .headerTooLarge)
  }

  @Test func headerNotUTF8() {
    #expect(readError(littleEndianBytes(UInt64(4)) + [0x7B, 0xFF, 0xFE, 0x7D])?.kind == .invalidHeader)
  }

  @Test func headerNotJSON() {
    #expect(readError(safetensorsBytes("{{}}"))?.kind == .invalidHeaderDeserialization)
    #expect(readError(safetensorsBytes("[]"))?.kind == .invalidHeaderDeserialization)
    #expect(readError(safetensorsBytes("\u{FEFF}{}"))?.kind == .invalidHeaderDeserialization)
  }

  @Test func trailingNulPaddingIsNotWhitespace() {
    #expect(readError(safetensorsBytes("{}\0\0\0\0\0\0"))?.kind == .invalidHeaderDeserialization)
  }

  @Test func overlappingTensors() {
    // test_json_attack: ten tensors all claiming [0, 16].
    let entries = (0..<10).map { #""weight_\#($0)":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}"# }
    #expect(
      readError(safetensorsBytes("{" + entries.joined(separator: ",") + "}", data: [UInt8](repeating: 0, count: 16)))?
        .kind == .invalidOffset)
  }

  @Test func holeBetweenTensors() {
    let header =
      #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}"#
    let error = readError(safetensorsBytes(header, data: [UInt8](repeating: 0, count: 5)))
    #expect(error?.kind == .invalidOffset)
    #expect(error?.tensor == "b")
  }

  @Test func firstTensorNotAtZero() {
    #expect(
      readError(safetensorsBytes(#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#, data: [0, 0, 0]))?.kind
        == .invalidOffset)
  }

  @Test func endBeforeBegin() {
    #expect(
      readError(safetensorsBytes(#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[2,0]}}"#))?.kind == .invalidOffset)
  }

  @Test func trailingBytes() {
    // test_metadata_incomplete_buffer: a polyglot suffix.
    let error = readError(safetensorsBytes(#"{"a":\#(u8Entry)}"#, data: [1, 2, 3]))
    #expect(error?.kind == .metadataIncompleteBuffer)
  }

  @Test func missingBytes() {
    #expect(readError(safetensorsBytes(#"{"a":\#(u8Entry)}"#, data: [1]))?.kind == .metadataIncompleteBuffer)
    #expect(
      readError(
        safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0, 0, 0]))?.kind
        == .metadataIncompleteBuffer)
  }

  @Test func shapeDisagreesWithByteCount() {
    // test_invalid_info
    let error = readError(
      safetensorsBytes(
        #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)))
    #expect(error?.kind == .tensorInvalidInfo)
    #expect(error?.tensor == "a")
  }

  @Test func unknownAndLowercaseDtypes() {
    #expect(
      readError(
        safetensorsBytes(
          #"{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 16)))?.kind
        == .invalidHeaderDeserialization)
    #expect(
      readError(safetensorsBytes(#"{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]))?.kind
        == .invalidHeaderDeserialization)
  }

  @Test func nonStringMetadata() {
    #expect(readError(safetensorsBytes(#"{"__metadata__":{"epoch":3}}"#))?.kind == .invalidHeaderDeserialization)
    #expect(readError(safetensorsBytes(#"{"__metadata__":[]}"#))?.kind == .invalidHeaderDeserialization)
    #expect(
      readError(safetensorsBytes(#"{"__metadata__":{"a":"1"},"__metadata__":{"b":"2"}}"#))?.kind
        == .invalidHeaderDeserialization)
  }

  @Test func negativeFloatAndOversizedNumbers() {
    for shape in ["[-1]", "[-0]", "[2.0]", "[1e0]", "[18446744073709551616,0]", "[\"2\"]", "null"] {
      let header = #"{"a":{"dtype":"U8","shape":\#(shape),"data_offsets":[0,2]}}"#
      #expect(
        readError(safetensorsBytes(header, data: [0, 0]))?.kind == .invalidHeaderDeserialization, "shape \(shape)")
    }
    #expect(
      readError(safetensorsBytes(#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[-2,0]}}"#, data: [0, 0]))?.kind
        == .invalidHeaderDeserialization)
  }

  @Test func missingOrDuplicatedFields() {
    for header in [
      #"{"a":{"dtype":"U8","data_offsets":[0,2]}}"#, #"{"a":{"shape":[2],"data_offsets":[0,2]}}"#,
      #"{"a":{"dtype":"U8","shape":[2]}}"#, #"{"a":{"dtype":"U8","dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#,
      #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2,2]}}"#, #"{"a":null}"#,
    ] {
      #expect(readError(safetensorsBytes(header, data: [0, 0]))?.kind == .invalidHeaderDeserialization, "\(header)")
    }
  }

  @Test func shapeProductOverflows() {
    // test_validation_overflow: [2, 2^64-2] does not fit; [2, 2^63-1] overflows the product.
    #expect(
      readError(safetensorsBytes(#"{"a":{"dtype":"U8","shape":[2,9223372036854775807],"data_offsets":[0,0]}}"#))?.kind
        == .validationOverflow)
    #expect(
      readError(safetensorsBytes(#"{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}"#))?.kind
        == .validationOverflow)
    #expect(
      readError(safetensorsBytes(#"{"a":{"dtype":"U8","shape":[2,18446744073709551614],"data_offsets":[0,0]}}"#)) != nil
    )
  }

  @Test func tensorsLargerThanAnyFile() {
    // Eight tensors of 2^60 - 1 bytes each: consistent offsets ending near 2^63, so checking them
    // against the file's size must not overflow.
    let size = (1 << 60) - 1
    let entries = (0..<8).map {
      #""t\#($0)":{"dtype":"U8","shape":[\#(size)],"data_offsets":[\#($0 * size),\#(($0 + 1) * size)]}"#
    }
    #expect(
      readError(safetensorsBytes("{" + entries.joined(separator: ",") + "}", data: [1, 2]))?.kind
        == .metadataIncompleteBuffer)
  }

  @Test func subByteMisaligned() {
    #expect(
      readError(safetensorsBytes(#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#, data: [0, 0]))?.kind
        == .misalignedSlice)
    #expect(
      readError(safetensorsBytes(#"{"a":{"dtype":"F6_E2M3","shape":[3],"data_offsets":[0,3]}}"#, data: [0, 0, 0]))?.kind
        == .misalignedSlice)
  }

  @Test func duplicateKeyWithDifferentOffsets() {
    let header =
      #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#
    #expect(readError(safetensorsBytes(header, data: [0, 0, 0, 0]))?.kind == .invalidOffset)
  }

  @Test func badJSONStrings() {
    for header in [
      #"{"\ud800":\#(u8Entry)}"#, #"{"a\q":\#(u8Entry)}"#, "{\"a\u{01}\":\(u8Entry)}", #"{"a":\#(u8Entry),}"#,
    ] {
      #expect(readError(safetensorsBytes(header, data: [0, 0]))?.kind == .invalidHeaderDeserialization, "\(header)")
    }
  }

  @Test func nestingBeyondSerdeLimit() {
    let deep = String(repeating: "[", count: 127) + String(repeating: "]", count: 127)
    let header = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":\#(deep)}}"#
    #expect(readError(safetensorsBytes(header, data: [0, 0]))?.kind == .invalidHeaderDeserialization)
  }
}

@Suite struct SafetensorsAccepts {
  func open(_ header: String, data: [UInt8] = []) throws -> TensorReader {
    let scratch = ScratchDirectory()
    return try TensorReader(path: scratch.write("x.safetensors", safetensorsBytes(header, data: data)))
  }

  @Test func duplicateIdenticalKeys() throws {
    let reader = try open(#"{"a":\#(u8Entry),"a":\#(u8Entry)}"#, data: [7, 8])
    #expect(reader.tensors.map(\.name) == ["a"])
    #expect(try reader.bytes(of: "a") == [7, 8])
  }

  @Test func extraFieldsAreIgnored() throws {
    let reader = try open(
      #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"foo":1,"x":[[{"y":null}]]}}"#, data: [1, 2])
    #expect(reader.tensors.first?.shape == [2])
  }

  @Test func jsonWhitespaceAroundTheHeader() throws {
    for pad in [" ", "\t", "\n", "\r"] {
      let reader = try open(pad + pad + #"{"a":\#(u8Entry)}"# + pad, data: [1, 2])
      #expect(reader.tensors.count == 1)
    }
  }

  @Test func keysOutOfOffsetOrder() throws {
    let reader = try open(#"{"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]},"a":\#(u8Entry)}"#, data: [1, 2, 3])
    #expect(reader.tensors.map(\.name) == ["a", "b"])
    #expect(try reader.bytes(of: "b") == [3])
  }

  @Test func emptyAndReservedLookingNames() throws {
    let reader = try open(
      #"{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"__foo__":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#,
      data: [1, 2])
    #expect(Set(reader.tensors.map(\.name)) == ["", "__foo__"])
  }

  @Test func scalarsAndZeroSizeTensors() throws {
    let reader = try open(
      #"{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"z":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]},"y":{"dtype":"I64","shape":[0],"data_offsets":[4,4]}}"#,
      data: [0, 0, 128, 63])
    #expect(reader.info("s")?.elementCount == 1)
    #expect(try reader.floats(of: "s") == [1])
    #expect(reader.info("z")?.byteCount == 0)
    #expect(try reader.bytes(of: "y") == [])
  }

  @Test func nullMetadataAndEmptyHeader() throws {
    #expect(try open(#"{"__metadata__":null}"#).metadata == [:])
    #expect(try open("{}").tensors.isEmpty)
  }

  @Test func metadataAndEscapes() throws {
    let reader = try open(#"{"__metadata__":{"format":"pt","note":"a\"b\\c\u00e9\ud83d\ude00\n"}}"#)
    #expect(reader.metadata == ["format": "pt", "note": "a\"b\\c\u{e9}\u{1F600}\n"])
  }

  @Test func everyDtypeName() throws {
    for dtype in DType.allCases {
      let count = dtype.isSubByte ? 4 : 2
      let bytes = dtype.byteCount(elements: count)!
      let reader = try open(
        #"{"t":{"dtype":"\#(dtype.name)","shape":[\#(count)],"data_offsets":[0,\#(bytes)]}}"#,
        data: [UInt8](repeating: 1, count: bytes))
      #expect(reader.info("t")?.dtype == dtype)
      #expect(reader.info("t")?.byteCount == bytes)
    }
  }

  @Test func hugeZeroSizedShapeIsAcceptedWhenItFits() throws {
    let reader = try open(#"{"z":{"dtype":"U8","shape":[0,9223372036854775807],"data_offsets":[0,0]}}"#)
    #expect(reader.info("z")?.elementCount == 0)
  }
}
