// Importers: turn foreign files (PyTorch zip checkpoints, numpy .npy/.npz, IDX, CSV, image folders) into tensor files.
