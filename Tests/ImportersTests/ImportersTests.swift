// ImportersTests
