// Removes unfinished temporary outputs when the process is interrupted, terminated or hung up.

import Glibc

/// The temporary files being written, kept in fixed C storage that a signal handler may read.
///
/// A handler may only call async-signal-safe functions, so the paths live in preallocated slots of
/// NUL-terminated bytes, and the handler does nothing but `unlink` each one, restore the default
/// action and re-raise the signal (so the exit status still says which signal ended the process).
/// A signal the process started with ignored (SIGHUP under nohup) stays ignored.
enum TemporaryFiles {
  static let slotCount = 32
  static let slotSize = Int(PATH_MAX) + 1
  nonisolated(unsafe) static let slots: UnsafeMutablePointer<CChar> = {
    let storage = UnsafeMutablePointer<CChar>.allocate(capacity: slotCount * slotSize)
    storage.initialize(repeating: 0, count: slotCount * slotSize)
    return storage
  }()
  /// Per slot: nil for a file; for a temporary directory, the names of the files it holds (each
  /// NUL-terminated, an empty name last), which the handler removes before the directory. So a
  /// directory of many files takes one slot. Each list is kept for the life of the process: the handler
  /// may read it at any moment, and a tool makes one or two such directories.
  nonisolated(unsafe) static let contents: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
    let storage = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: slotCount)
    storage.initialize(repeating: nil, count: slotCount)
    return storage
  }()
  /// Serialises claiming and freeing slots between threads; the handler never takes it.
  nonisolated(unsafe) static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
    let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    pthread_mutex_init(lock, nil)
    return lock
  }()
  static let handledSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
  nonisolated(unsafe) static var handlersInstalled = false

  /// Creates a new file named `prefix` plus six random letters and digits, open for writing, with
  /// the permissions a new file gets (0666 minus the umask). `destination` names the error.
  ///
  /// The name is registered before the file exists and forgotten only once it is gone, so no moment
  /// leaves an existing temporary file unregistered. Blocking the signals covers the handler running
  /// on this thread; registering first also covers it running on another thread (BLAS and Dispatch
  /// workers), which no signal mask set here can hold off.
  static func create(prefix: String, for destination: String) throws -> (descriptor: Int32, path: String) {
    try createUnique(prefix: prefix, for: destination, what: "file") {
      open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    }
  }

  /// Creates a new, empty directory named `prefix` plus six random letters and digits (0777 minus the
  /// umask), registered with the names of the files it will hold (plain names, no slashes): the signal
  /// handler removes those files, then the directory.
  static func createDirectory(prefix: String, for destination: String, holding names: [String]) throws -> String {
    precondition(names.allSatisfy { !$0.isEmpty && !$0.contains("/") }, "plain file names")
    let bytes: [UInt8] = names.flatMap { Array($0.utf8) + [0] } + [0]
    let list = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
    for (index, byte) in bytes.enumerated() { list[index] = CChar(bitPattern: byte) }
    return try createUnique(prefix: prefix, for: destination, what: "directory", contents: list) {
      mkdir($0, 0o777) == 0 ? 0 : -1
    }.path
  }

  /// Makes a new path from `prefix` with `make` (a descriptor, or 0 for success; -1 and errno on failure).
  private static func createUnique(
    prefix: String, for destination: String, what: String, contents: UnsafeMutablePointer<CChar>? = nil,
    _ make: (String) -> Int32
  ) throws -> (descriptor: Int32, path: String) {
    let characters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
    var code = EEXIST
    for _ in 0..<100 {
      var name = Array(prefix.utf8)
      for _ in 0..<6 { name.append(characters[Int.random(in: 0..<characters.count)]) }
      let path = String(decoding: name, as: UTF8.self)
      let descriptor = withSignalsBlocked { () -> Int32 in
        guard let slot = register(name, contents: contents) else {
          code = name.count < slotSize ? EMFILE : ENAMETOOLONG
          return -1
        }
        let descriptor = make(path)
        if descriptor < 0 {
          code = errno
          release(slot)
        }
        return descriptor
      }
      if descriptor >= 0 { return (descriptor, path) }
      if code != EEXIST { break }
    }
    throw TensorFileError(
      .io, file: destination, "cannot create a temporary \(what) beside it: \(String(cString: strerror(code)))")
  }

  /// Forgets every registered path that is `directory` or inside it (it was renamed into place).
  static func forgetAll(under directory: String) {
    pthread_mutex_lock(lock)
    defer { pthread_mutex_unlock(lock) }
    for slot in 0..<slotCount where slots[slot * slotSize] != 0 {
      let path = String(cString: slots + slot * slotSize)
      if path == directory || path.hasPrefix(directory + "/") { slots[slot * slotSize] = 0 }
    }
  }

  /// Removes `path` (a file, or an empty directory) and forgets it; the name stays registered until
  /// it is gone.
  static func remove(_ path: String) {
    withSignalsBlocked {
      if unlink(path) != 0 && (errno == EISDIR || errno == EPERM) { rmdir(path) }
      forget(path)
    }
  }

  /// Renames `path` onto `destination` and forgets it; returns `rename`'s result (errno on failure).
  static func rename(_ path: String, to destination: String) -> Int32 {
    withSignalsBlocked {
      let status = Glibc.rename(path, destination)
      let code = errno
      if status == 0 { forget(path) }
      errno = code
      return status
    }
  }

  /// Copies `name` (bytes, no NUL) into a free slot, with a directory's `contents`; nil when none is
  /// free or the name is too long.
  private static func register(_ name: [UInt8], contents list: UnsafeMutablePointer<CChar>? = nil) -> Int? {
    _ = (slots, contents)  // initialised before the handler can look at them
    installHandlers()
    guard name.count < slotSize else { return nil }
    pthread_mutex_lock(lock)
    defer { pthread_mutex_unlock(lock) }
    for slot in 0..<slotCount where slots[slot * slotSize] == 0 {
      let target = slots + slot * slotSize
      contents[slot] = list
      // The first byte marks the slot used, so write it last: a handler on another thread sees an
      // empty slot or a whole path, never half of one.
      target[name.count] = 0
      for index in (1..<name.count).reversed() { target[index] = CChar(bitPattern: name[index]) }
      target[0] = CChar(bitPattern: name[0])
      return slot
    }
    return nil
  }

  private static func release(_ slot: Int) {
    pthread_mutex_lock(lock)
    slots[slot * slotSize] = 0
    pthread_mutex_unlock(lock)
  }

  private static func forget(_ path: String) {
    pthread_mutex_lock(lock)
    defer { pthread_mutex_unlock(lock) }
    for slot in 0..<slotCount where slots[slot * slotSize] != 0 {
      if String(cString: slots + slot * slotSize) == path { slots[slot * slotSize] = 0 }
    }
  }

  /// Whether `path` is registered for removal on a signal, itself or as a file of a registered
  /// directory (for tests).
  static func isRegistered(_ path: String) -> Bool {
    pthread_mutex_lock(lock)
    defer { pthread_mutex_unlock(lock) }
    return (0..<slotCount).contains { slot in
      guard slots[slot * slotSize] != 0 else { return false }
      let registered = String(cString: slots + slot * slotSize)
      if registered == path { return true }
      guard var name = contents[slot], path.hasPrefix(registered + "/") else { return false }
      while name[0] != 0 {
        if registered + "/" + String(cString: name) == path { return true }
        name += strlen(name) + 1
      }
      return false
    }
  }

  /// Runs `body` with the handled signals blocked on this thread.
  static func withSignalsBlocked<T>(_ body: () -> T) -> T {
    var blocked = sigset_t()
    var previous = sigset_t()
    sigemptyset(&blocked)
    for signal in handledSignals { sigaddset(&blocked, signal) }
    pthread_sigmask(SIG_BLOCK, &blocked, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
    return body()
  }

  /// Installs the handler for each handled signal the process does not ignore. Called with the
  /// signals blocked, before the first file is registered.
  private static func installHandlers() {
    guard !handlersInstalled else { return }
    handlersInstalled = true
    for signal in handledSignals {
      var current = sigaction()
      sigaction(signal, nil, &current)
      let handler = current.__sigaction_handler.sa_handler
      // Keep an inherited "ignore" (nohup's SIGHUP, SIGINT in a shell's background job).
      if unsafeBitCast(handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { continue }
      var action = sigaction()
      action.__sigaction_handler.sa_handler = removeAndReraise
      sigemptyset(&action.sa_mask)
      sigaction(signal, &action, nil)
    }
  }
}

/// The signal handler: async-signal-safe calls only. Files first, then the files each temporary
/// directory holds, then the directories (rmdir of a file, or of a path already gone, fails and does
/// nothing).
private func removeAndReraise(_ signal: Int32) {
  let saved = errno
  for slot in 0..<TemporaryFiles.slotCount {
    let path = TemporaryFiles.slots + slot * TemporaryFiles.slotSize
    if path[0] != 0 { unlink(path) }
  }
  for slot in 0..<TemporaryFiles.slotCount {
    let path = TemporaryFiles.slots + slot * TemporaryFiles.slotSize
    guard path[0] != 0, var name = TemporaryFiles.contents[slot] else { continue }
    let directory = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard directory >= 0 else { continue }
    while name[0] != 0 {
      unlinkat(directory, name, 0)
      name += strlen(name) + 1
    }
    close(directory)
  }
  for slot in 0..<TemporaryFiles.slotCount {
    let path = TemporaryFiles.slots + slot * TemporaryFiles.slotSize
    if path[0] != 0 { rmdir(path) }
  }
  _ = Glibc.signal(signal, SIG_DFL)
  raise(signal)
  errno = saved
}
