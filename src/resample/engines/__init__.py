"""Engines that run the kernels: the CPU engine (cpu: C++ loops of resample._core, on every
core), the GPU engine (gpu: CUDA kernels through CuPy), the choice between them (devices), the
CPU engine's pass order (passes), and the grid both engines search for nearest points
(pointgrid)."""
