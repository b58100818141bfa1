// Swift stops the process when an array cannot be allocated. A size that a file claims, once it has
// passed every check against the file and the documented limits, is first tried with malloc: under a
// memory limit (ulimit -v, a container) the reader then reports an error instead of crashing.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Whether `count` bytes can be allocated now (malloc'd and freed at once; untouched pages cost nothing).
public func canAllocate(_ count: Int) -> Bool {
  guard count > 0 else { return true }
  guard let probe = malloc(count) else { return false }
  free(probe)
  return true
}
