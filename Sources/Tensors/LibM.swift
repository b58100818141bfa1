#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Double-precision libm entry points under names that do not clash with FastMath's.
@usableFromInline func Foundation_exp(_ x: Double) -> Double { exp(x) }
@usableFromInline func Foundation_log(_ x: Double) -> Double { log(x) }
@usableFromInline func Foundation_cos(_ x: Double) -> Double { cos(x) }
