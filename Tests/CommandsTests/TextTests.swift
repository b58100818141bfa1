// Escaping names for a terminal, glob patterns, byte counts.

import Testing
import ToolSupport

@Suite struct TextTests {
  @Test func controlCharactersAreEscaped() {
    #expect(escapeControlCharacters("blocks.0.attn") == "blocks.0.attn")
    #expect(escapeControlCharacters("a\u{1B}[31mred\n") == "a\\x1B[31mred\\n")
    #expect(escapeControlCharacters("tab\there\\") == "tab\\there\\\\")
    #expect(escapeControlCharacters("\u{7F}\u{85}\u{202E}") == "\\x7F\\u{0085}\\u{202E}")
    #expect(escapeControlCharacters("gewicht.ä.日本") == "gewicht.ä.日本")
  }

  @Test func globsMatchWholeNamesAcrossDots() {
    #expect(Glob("blocks.*.mlp.*").matches("blocks.11.mlp.fc1.weight"))
    #expect(!Glob("blocks.*.mlp.*").matches("blocks.11.attn.qkv.weight"))
    #expect(Glob("head.?eight").matches("head.weight"))
    #expect(!Glob("head").matches("head.weight"))
    #expect(Glob("[ab]*").matches("b.x"))
  }

  @Test func byteCountsUseDecimalUnits() {
    #expect(formatByteCount(0) == "0 B")
    #expect(formatByteCount(999) == "999 B")
    #expect(formatByteCount(1234) == "1.23 kB")
    #expect(formatByteCount(86_400_000) == "86.4 MB")
    #expect(formatByteCount(4_000_000_000) == "4.00 GB")
  }
}
