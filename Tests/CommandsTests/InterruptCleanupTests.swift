// InterruptCleanup watches the temporary file a TensorWriter holds open beside its destination.

import Foundation
import Testing
import TensorFile
import ToolSupport

@Suite struct InterruptCleanupTests {
  @Test func findsTheWritersOpenTemporaryFileOnly() throws {
    let scratch = ScratchDirectory()
    let destination = scratch.file("out.safetensors")
    // A stale file of the same pattern that this process does not hold open must be left alone.
    _ = FileManager.default.createFile(atPath: scratch.file(".out.safetensors.tmp-stale1"), contents: Data())
    let writer = try TensorWriter(path: destination, tensors: [try TensorInfo(name: "w", dtype: .f32, shape: [1])])
    let cleanup = InterruptCleanup(temporaryFile: writer.temporaryPath)
    #expect(cleanup.paths.count == 1)
    #expect(cleanup.paths.allSatisfy { $0.hasPrefix("\(scratch.path)/.out.safetensors.") && !$0.hasSuffix("stale1") })
    #expect(cleanup.paths.allSatisfy { FileManager.default.fileExists(atPath: $0) })
    writer.abort()
    cleanup.release()
    #expect(cleanup.paths.isEmpty)
    #expect(scratch.listing() == [".out.safetensors.tmp-stale1"])
  }

  @Test func standardOutputNeedsNoCleanup() {
    #expect(InterruptCleanup(temporaryFile: nil).paths.isEmpty)
  }
}
