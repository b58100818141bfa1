// Removes unfinished temporary outputs when the process is interrupted or terminated.

import Glibc

/// The temporary paths of outputs being written, kept in fixed C storage a signal handler may read.
///
/// A signal handler can only call async-signal-safe functions, so the paths live in a preallocated
/// buffer of NUL-terminated slots and the handler does nothing but `unlink` each one, restore the
/// default action and re-raise the signal (so the exit status still says which signal killed us).
enum TemporaryFiles {
  static let slotCount = 32
  static let slotSize = Int(PATH_MAX) + 1
  nonisolated(unsafe) static let slots: UnsafeMutablePointer<CChar> = {
    let storage = UnsafeMutablePointer<CChar>.allocate(capacity: slotCount * slotSize)
    storage.initialize(repeating: 0, count: slotCount * slotSize)
    return storage
  }()
  static let handledSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
  nonisolated(unsafe) static var handlersInstalled = false

  /// Remembers `path` (a NUL-terminated C string) for removal on a signal. Call with signals blocked.
  static func register(_ path: [CChar]) {
    installHandlers()
    guard path.count <= slotSize else { return }
    for slot in 0..<slotCount where slots[slot * slotSize] == 0 {
      let target = slots + slot * slotSize
      // Copy the tail first and the first byte last, so the handler never sees half a path.
      for index in (0..<path.count).reversed() { target[index] = path[index] }
      return
    }
  }

  /// Forgets `path` once it has been renamed or removed.
  static func unregister(_ path: String) {
    withSignalsBlocked {
      for slot in 0..<slotCount where slots[slot * slotSize] != 0 {
        if String(cString: slots + slot * slotSize) == path { slots[slot * slotSize] = 0 }
      }
    }
  }

  /// Runs `body` with the handled signals blocked, so a slot never changes under the handler.
  static func withSignalsBlocked<T>(_ body: () -> T) -> T {
    var blocked = sigset_t()
    var previous = sigset_t()
    sigemptyset(&blocked)
    for signal in handledSignals { sigaddset(&blocked, signal) }
    pthread_sigmask(SIG_BLOCK, &blocked, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
    return body()
  }

  static func installHandlers() {
    guard !handlersInstalled else { return }
    handlersInstalled = true
    for signal in handledSignals {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { signal in
        for slot in 0..<TemporaryFiles.slotCount {
          let path = TemporaryFiles.slots + slot * TemporaryFiles.slotSize
          if path[0] != 0 { unlink(path) }
        }
        Glibc.signal(signal, SIG_DFL)
        raise(signal)
      }
      sigemptyset(&action.sa_mask)
      // Keep a shell's "ignore SIGHUP" (nohup) in force.
      var current = sigaction()
      sigaction(signal, nil, &current)
      if unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
        continue
      }
      sigaction(signal, &action, nil)
    }
  }
}
