// File checks kswap-merge and kswap-diff make on their operands before writing.

import Glibc

/// Whether two paths name the same existing file.
func sameFile(_ first: String, _ second: String) -> Bool {
  guard first != "-", second != "-" else { return false }
  var a = stat()
  var b = stat()
  guard stat(first, &a) == 0, stat(second, &b) == 0 else { return false }
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino
}

func fileExists(_ path: String) -> Bool {
  var info = stat()
  return lstat(path, &info) == 0
}
