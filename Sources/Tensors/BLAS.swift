// The only file that imports the BLAS shim.
import COpenBLAS

#if canImport(Glibc)
  import Glibc
#endif

/// Matrix products through OpenBLAS `cblas_sgemm`, on raw row-major buffers and on tensors.
public enum BLAS {
  /// C = alpha · op(A) · op(B) + beta · C, all row-major; op(X) is X or Xᵀ.
  ///
  /// op(A) is (m, k), op(B) is (k, n), C is (m, n); `lda`, `ldb`, `ldc` are the row strides of the
  /// stored matrices, so strided views (one head of a fused qkv buffer) need no copy.
  ///
  /// Big products are split into blocks of rows that the `Parallel` threads compute at once, each
  /// through single-threaded OpenBLAS. Results do not depend on the thread count: each element of
  /// C is still one dot product over the same k, and the blocks start at multiples of 96 rows, so
  /// every element sits at the same place of OpenBLAS's register tiles as in one call (Haswell's
  /// kernels round by the place in their 12-row tiles; SkylakeX's take another path for small
  /// products). Columns are never split: there the Haswell kernels' rounding moves with the split
  /// wherever it falls. The tests check that a split gives the same bits as one call.
  public static func gemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    if m == 0 || n == 0 { return }
    // Below ~4 MFLOP a split costs more than it saves.
    let chunks = m * n * k < 2_000_000 ? 1 : min(Parallel.threads, m / 96)
    if chunks < 2 {
      sgemmRaw(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
      return
    }
    func boundary(_ i: Int) -> Int { i == chunks ? m : m * i / chunks / 96 * 96 }
    Parallel.forChunks(chunks) { i in
      // Rows lo..<hi of op(A) and C.
      let lo = boundary(i), hi = boundary(i + 1)
      sgemmRaw(transA, transB, hi - lo, n, k, alpha, a + (transA ? lo : lo * lda), lda, b, ldb, beta, c + lo * ldc, ldc)
    }
  }

  /// The same product on the calling thread only, for callers that already run in parallel.
  public static func gemmSerial(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    if m == 0 || n == 0 { return }
    sgemmRaw(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
  }

  static func sgemmRaw(
    _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
    _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
    _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) {
    precondition(lda >= (transA ? m : k) && ldb >= (transB ? k : n) && ldc >= n, "gemm strides")
    _ = BLASRuntime.initialThreads  // makes sure OpenBLAS runs single-threaded
    cblas_sgemm(
      CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
      blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c,
      blasint(ldc))
  }

  /// The product op(a) · op(b) of two rank-2 tensors as a new tensor.
  public static func matmul(
    _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false
  ) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2, "matmul needs rank-2 tensors")
    let m = transposeA ? a.shape[1] : a.shape[0]
    let k = transposeA ? a.shape[0] : a.shape[1]
    let kb = transposeB ? b.shape[1] : b.shape[0]
    let n = transposeB ? b.shape[0] : b.shape[1]
    precondition(k == kb, "matmul: \(a.shape) x \(b.shape)")
    let c = Tensor(shape: [m, n])
    gemm(
      transA: transposeA, transB: transposeB, m: m, n: n, k: k, a: a.pointer, lda: a.shape[1],
      b: b.pointer, ldb: b.shape[1], c: c.pointer, ldc: n)
    return c
  }
}

/// How this process's OpenBLAS runs: which kernels it picked and how many threads it uses.
///
/// Debian's OpenBLAS 0.3.21 detects AVX-512 Xeons as "Prescott" and runs its SSE3 kernels, about
/// 5x slower than the SkylakeX kernels the same library has. The core is chosen once, from the
/// `OPENBLAS_CORETYPE` environment variable, in a library constructor that runs before `main`, so
/// the only reliable fix is to set the variable and start the program again:
/// `selectFastKernels()` does that. Results are the same to float rounding.
///
/// Tests cannot re-exec their runner, so they run on whatever kernels the environment gives; they
/// pass with either (shapes are tiny, and a test compares sgemm with a naive product). For the fast
/// kernels in tests, export `OPENBLAS_CORETYPE=SkylakeX` before `swift test` on an AVX-512 CPU; it
/// changes results only by float rounding.
public enum BLASRuntime {
  /// The kernel family OpenBLAS is using ("SkylakeX", "Prescott", ...).
  public static var coreName: String {
    guard let name = openblas_get_corename() else { return "unknown" }
    return String(cString: name)
  }

  /// The number of threads kswap computes with (products and elementwise loops).
  ///
  /// Starts as OpenBLAS's own count (so `OPENBLAS_NUM_THREADS` is honoured). kswap splits
  /// products over its threads itself and runs OpenBLAS single-threaded inside each: OpenBLAS's
  /// thread pool otherwise spins between products and takes the cores the elementwise loops need.
  public static var threadCount: Int { Parallel.threads }

  /// Sets the number of threads kswap computes with.
  public static func setThreadCount(_ n: Int) { Parallel.setThreads(n) }

  /// OpenBLAS's thread count at start-up; afterwards OpenBLAS is kept at one thread.
  static let initialThreads: Int = {
    let n = Int(openblas_get_num_threads())
    openblas_set_num_threads(1)
    return max(1, n)
  }()

  /// A one-line description for `--version`: "OpenBLAS core SkylakeX, 2 threads".
  public static var summary: String { "OpenBLAS core \(coreName), \(threadCount) threads" }

  /// Kernel families at least as fast as SkylakeX on CPUs with AVX-512.
  static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

  /// Makes this process use OpenBLAS's AVX-512 kernels when the CPU has them; call first in `main`.
  ///
  /// When `OPENBLAS_CORETYPE` is unset, the CPU reports AVX-512 (F, BW, DQ, VL in
  /// `/proc/cpuinfo`) and OpenBLAS picked a slower core, this sets `OPENBLAS_CORETYPE=SkylakeX`
  /// and re-executes `/proc/self/exe` with the same arguments, so the call does not return.
  /// In every other case (the user set the variable, the CPU lacks AVX-512, the right core is
  /// already active, or the re-exec fails) it returns and the program carries on unchanged.
  /// Call it before reading stdin or starting threads: the restarted process must see the same
  /// untouched inputs.
  public static func selectFastKernels() {
    let user = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
    guard restartNeeded(userCoreType: user, activeCore: coreName, cpuHasAVX512: cpuHasAVX512()) else { return }
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    // Only reached when exec failed: undo the variable so children see the user's environment.
    unsetenv("OPENBLAS_CORETYPE")
  }

  /// The decision `selectFastKernels` makes: restart only when the user left the variable unset,
  /// the CPU has AVX-512 and OpenBLAS chose a core slower than SkylakeX.
  static func restartNeeded(userCoreType: String?, activeCore: String, cpuHasAVX512: Bool) -> Bool {
    userCoreType == nil && cpuHasAVX512 && !avx512Cores.contains(activeCore.lowercased())
  }

  /// Whether /proc/cpuinfo lists the AVX-512 subsets OpenBLAS's SkylakeX kernels use.
  static func cpuHasAVX512() -> Bool {
    guard let file = fopen("/proc/cpuinfo", "r") else { return false }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0 {
      guard let line else { break }
      let text = String(cString: line)
      guard text.hasPrefix("flags") else { continue }
      let flags = Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }))
      return ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy { flags.contains(Substring($0)) }
    }
    return false
  }
}
