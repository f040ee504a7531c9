// The nearest point of every pixel on the GPU: the two passes of common/distance.h.
//
// A part of the GPU engine's one CUDA module: kernels/resample.cu includes it after
// kernels/common/ (and the parts it names), so it has no includes of its own.

// ---- Nearest point of every pixel: the distance transform of common/distance.h, one thread a
// column (pass 1), then one thread a row (pass 2, scratch per thread: v, va, vf (width) and z
// (width + 1)).
extern "C" __global__ void LAUNCH_BOUNDS nearest_columns(const double* __restrict__ xy,
                                           const long long* __restrict__ seeds,
                                           long long height, long long width,
                                           long long* __restrict__ best) {
    long long j = thread_index();
    if (j < width) nearest_column_one(j, xy, seeds, height, width, best);
}

extern "C" __global__ void LAUNCH_BOUNDS nearest_rows(const double* __restrict__ xy,
                                        const long long* __restrict__ best,
                                        long long height, long long width,
                                        long long* __restrict__ nearest,
                                        long long* __restrict__ v_all,
                                        double* __restrict__ a_all,
                                        double* __restrict__ f_all,
                                        double* __restrict__ z_all) {
    long long i = thread_index();
    if (i >= height) return;
    nearest_row_one(i, xy, best, width, nearest, v_all + i * width, a_all + i * width,
                    f_all + i * width, z_all + i * (width + 1));
}
