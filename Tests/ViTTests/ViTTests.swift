// ViTTests
