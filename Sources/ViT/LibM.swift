#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) func Foundation_pow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
