// Swap: losses, optimiser, schedules, datasets, and the learn / forget / eval loops (progress by callback).
