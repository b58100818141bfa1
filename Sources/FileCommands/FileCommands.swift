// FileCommands: the tools that only move bytes (kswap-inspect, kswap-pack); no BLAS.
