// TensorFile: the on-disk formats (safetensors, the compressed kswap container): bytes, dtypes, shapes, codecs; no math.
