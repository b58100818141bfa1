// SwapTests
