// TensorFileTests
