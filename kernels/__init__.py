"""The CUDA sources of the GPU engine (kernels/*.cu), shipped in the wheel as resample.kernels."""
