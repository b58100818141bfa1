// TensorsTests
