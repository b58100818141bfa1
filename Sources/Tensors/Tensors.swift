// Tensors: Float32 row-major tensors, the BLAS wrapper and the kernels a ViT needs, forward and backward.
