// Gaussian mixtures on the GPU, forward: every point splatted into the pixels of its
// footprint (binned by tile, added in shared memory; wide ones atomically), then normalised.
//
// A part of the GPU engine's one CUDA module: kernels/resample.cu includes it after
// kernels/common/ (and the parts it names), so it has no includes of its own.

// ---- Gaussian mixtures (docs/conventions.md): every point i is a Gaussian of sigma (sx_i, sy_i);
// pixel q (x = column, y = row) is sum_i w_i(q) v_i / sum_i w_i(q), with
// w_i(q) = exp(-r2 / 2) / (2 pi sx_i sy_i) where r2 = ((x - x_i)/sx_i)^2 + ((y - y_i)/sy_i)^2
// <= cutoff^2, else 0.  Accumulators are planes: acc (C, H, W) and z (H, W).

#define SPLAT_TILE 32           // the binned splat's tiles: SPLAT_TILE x SPLAT_TILE pixels

// Adds a weight w of a point of values v at pixel q: to z and w v to the channels, in planes
// (packed == 0: z[q] and acc[c * plane + q]; a tile's in shared memory, or the image's for
// more than 3 channels) or packed (acc[q * packed + c] for the channels, then the weight at
// c = n_ch, packed = 2 or 4: one vector atomic a pixel for float32 on sm_90, where planes
// take n_ch + 1).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && \
    (__CUDACC_VER_MAJOR__ > 12 || __CUDACC_VER_MAJOR__ == 12 && __CUDACC_VER_MINOR__ >= 1) || \
    defined(RESAMPLE_SHIM)                       // (NVRTC 12.0 declares no vector atomics)
#define VECTOR_ATOMICS 1
#else
#define VECTOR_ATOMICS 0
#endif
template <typename W, typename I, bool PACKED>
__device__ __forceinline__ void splat_add(W* acc, W* z, I q, I plane, int packed, int n_ch, W w,
                                          const W* __restrict__ v) {
    if constexpr (!PACKED) {
        atomicAdd(z + q, w);
        for (int ch = 0; ch < n_ch; ++ch) atomicAdd(acc + ch * plane + q, w * v[ch]);
    } else {
        W* px = acc + q * packed;
#if VECTOR_ATOMICS
        if constexpr (sizeof(W) == 4) {
            float first = w * v[0];             // (the parts by selects: no local array)
            if (packed == 2) {
                atomicAdd((float2*)px, make_float2(first, w));
            } else {
                float second = w * v[1], third = n_ch == 3 ? w * v[2] : w;
                atomicAdd((float4*)px, make_float4(first, second, third, n_ch == 3 ? w : 0.0f));
            }
        } else
#endif
        {
            for (int ch = 0; ch < n_ch; ++ch) atomicAdd(px + ch, w * v[ch]);
            atomicAdd(px + n_ch, w);
        }
    }
}

// Forward: point p adds its footprint, clipped to rows [r_lo, r_hi) and columns
// [c_lo, c_hi), into planes (C of acc, then z) whose pixel (r, c) is at
// (r - r_org) * row + (c - c_org), a plane apart: the whole image's planes in global
// memory (one thread per point, atomically: footprints overlap), or a tile's in shared
// memory.  Steered Gaussians (theta, common/gaussians.h's footprint_steered): with theta = 0
// the weight is exp(-dy^2/2) for the row times exp(-dx^2/2) for the column.
template <typename W, typename I, bool PACKED>
__device__ __forceinline__ void gmm_splat_clipped(
        long long p, const double* __restrict__ xy, const W* __restrict__ values,
        const double* __restrict__ sx, const double* __restrict__ sy,
        const double* __restrict__ theta, int n_ch, double cutoff, long long height,
        long long width, long long r_lo, long long r_hi, long long c_lo, long long c_hi,
        W* acc, W* z, long long r_org, long long c_org, I row, I plane, int packed) {
    // I: the type of offsets into the planes (int for a tile's in shared memory); packed:
    // the layout of acc and z (splat_add).
    double x = xy[2 * p], y = xy[2 * p + 1], ax = sx[p], ay = sy[p], th = theta[p];
    double cs = th != 0.0 ? cos(th) : 1.0, sn = th != 0.0 ? sin(th) : 0.0;
    double cut2 = cutoff * cutoff;
    Footprint f = footprint_steered(x, y, ax, ay, cs, sn, cutoff, height, width);
    long long r0 = f.r0 > r_lo ? f.r0 : r_lo, r1 = f.r1 < r_hi - 1 ? f.r1 : r_hi - 1;
    long long c0 = f.c0 > c_lo ? f.c0 : c_lo, c1 = f.c1 < c_hi - 1 ? f.c1 : c_hi - 1;
    if (r1 < r0 || c1 < c0) return;
    // The footprint's first pixel and its size, as offsets of type I.
    const I q0 = (I)(r0 - r_org) * row + (I)(c0 - c_org);
    const W* v = values + p * n_ch;
    const int rows = (int)(r1 - r0), cols = (int)(c1 - c0);
    if (sn == 0.0 && cs == 1.0 && cols < SPLAT_TILE) {
        // Not rotated: the weight is a row's factor times a column's, exponentials in the
        // work type, one a row and one a column (not one a pixel).  A row's pixels within the
        // cutoff (ux^2 + uy^2 <= cutoff^2, each square rounded once, the sum once: the same
        // test on every device) are a run, as ux^2 falls then rises along the row: its ends
        // are found by that test, and the pixels between take no test and no FP64.
        W ex[SPLAT_TILE];
        double ux2[SPLAT_TILE];
        for (int j = 0; j <= cols; ++j) {
            double ux = ((double)(c0 + j) - x) / ax;
            ux2[j] = ux * ux;
            ex[j] = exp(W(-0.5) * (W)ux2[j]);
        }
        for (int i = 0; i <= rows; ++i) {
            double uy = ((double)(r0 + i) - y) / ay;
            double uy2 = uy * uy;
            W ey = (W)f.norm * exp(W(-0.5) * (W)uy2);
            int lo = 0, hi = cols;
            while (lo <= hi && ux2[lo] + uy2 > cut2) ++lo;
            while (hi >= lo && ux2[hi] + uy2 > cut2) --hi;
            for (int j = lo; j <= hi; ++j)
                splat_add<W, I, PACKED>(acc, z, q0 + (I)i * row + j, plane, packed, n_ch,
                                        ey * ex[j], v);
        }
        return;
    }
    for (int i = 0; i <= rows; ++i) {
        double dy = (double)(r0 + i) - y;
        for (int j = 0; j <= cols; ++j) {
            double dx = (double)(c0 + j) - x;
            double eu = (cs * dx + sn * dy) / ax, ev = (cs * dy - sn * dx) / ay;
            double r2 = eu * eu + ev * ev;
            if (r2 > cut2) continue;
            splat_add<W, I, PACKED>(acc, z, q0 + (I)i * row + j, plane, packed, n_ch,
                                    (W)(f.norm * exp(-0.5 * r2)), v);
        }
    }
}

// The whole footprint of a thread's point into the image's planes.
template <typename W>
__device__ __forceinline__ void gmm_splat_point(
        const double* __restrict__ xy, const W* __restrict__ values,
        const double* __restrict__ sx, const double* __restrict__ sy,
        const double* __restrict__ theta, long long n_points, int n_ch, double cutoff,
        W* __restrict__ acc, W* __restrict__ z, long long height, long long width, int packed) {
    long long p = thread_index();
    if (p >= n_points) return;
    if (packed)
        gmm_splat_clipped<W, long long, true>(p, xy, values, sx, sy, theta, n_ch, cutoff,
                                              height, width, 0, height, 0, width, acc, z, 0, 0,
                                              width, height * width, packed);
    else
        gmm_splat_clipped<W, long long, false>(p, xy, values, sx, sy, theta, n_ch, cutoff,
                                               height, width, 0, height, 0, width, acc, z, 0,
                                               0, width, height * width, 0);
}

// Points binned by tile (SPLAT_TILE x SPLAT_TILE pixels): the tile of a point's centre
// (clamped into the image), or n_tiles for a point whose footprint's box is wider or taller
// than a tile (those are splatted by gmm_splat_*).  A box at most a tile wide lies within
// the 3 x 3 tiles around its centre's.
__device__ __forceinline__ long long gmm_tile_of(
        long long p, const double* __restrict__ xy, const double* __restrict__ sx,
        const double* __restrict__ sy, const double* __restrict__ theta, double cutoff,
        long long height, long long width) {
    double x = xy[2 * p], y = xy[2 * p + 1], th = theta[p];
    double cs = th != 0.0 ? cos(th) : 1.0, sn = th != 0.0 ? sin(th) : 0.0;
    Footprint f = footprint_steered(x, y, sx[p], sy[p], cs, sn, cutoff, height, width);
    long long across = (width + SPLAT_TILE - 1) / SPLAT_TILE;
    long long down = (height + SPLAT_TILE - 1) / SPLAT_TILE;
    if (f.r1 - f.r0 >= SPLAT_TILE || f.c1 - f.c0 >= SPLAT_TILE) return across * down;
    double tr = floor(y / SPLAT_TILE), tc = floor(x / SPLAT_TILE);
    long long ti = (long long)fmin(fmax(tr, 0.0), (double)(down - 1));
    long long tj = (long long)fmin(fmax(tc, 0.0), (double)(across - 1));
    return ti * across + tj;
}

// A block per tile: the points of the 3 x 3 tiles around it (sorted by tile, ``start`` the
// first of each tile's) add what of their footprints falls in this tile to its planes in
// shared memory (SPLAT_TILE^2 pixels, n_ch + 1 <= 5 planes); then the block stores its tile
// in the image's layout (splat_add's packed), which no other block writes (the wide points
// are added atomically afterwards).
template <typename W>
__device__ __forceinline__ void gmm_splat_tile(
        const double* __restrict__ xy, const W* __restrict__ values,
        const double* __restrict__ sx, const double* __restrict__ sy,
        const double* __restrict__ theta, const long long* __restrict__ start, int n_ch,
        double cutoff, W* __restrict__ acc, W* __restrict__ z, long long height,
        long long width, int packed) {
    const int pixels = SPLAT_TILE * SPLAT_TILE;
    __shared__ W tile[5 * SPLAT_TILE * SPLAT_TILE];
    long long across = (width + SPLAT_TILE - 1) / SPLAT_TILE;
    long long down = (height + SPLAT_TILE - 1) / SPLAT_TILE;
    long long tj;
    long long ti = divide(blockIdx.x, across, &tj);
    long long r_lo = ti * SPLAT_TILE, c_lo = tj * SPLAT_TILE;
    long long r_hi = r_lo + SPLAT_TILE < height ? r_lo + SPLAT_TILE : height;
    long long c_hi = c_lo + SPLAT_TILE < width ? c_lo + SPLAT_TILE : width;
    for (int k = threadIdx.x; k < (n_ch + 1) * pixels; k += blockDim.x) tile[k] = W(0);
    __syncthreads();
    for (long long di = -1; di <= 1; ++di) {
        for (long long dj = -1; dj <= 1; ++dj) {
            long long ni = ti + di, nj = tj + dj;
            if (ni < 0 || nj < 0 || ni >= down || nj >= across) continue;
            long long t = ni * across + nj;
            for (long long p = start[t] + threadIdx.x; p < start[t + 1]; p += blockDim.x)
                gmm_splat_clipped<W, int, false>(p, xy, values, sx, sy, theta, n_ch, cutoff,
                                                 height, width, r_lo, r_hi, c_lo, c_hi,
                                                 tile + pixels, tile, r_lo, c_lo, SPLAT_TILE,
                                                 pixels, 0);
        }
    }
    __syncthreads();
    long long plane = height * width;
    int cols = (int)(c_hi - c_lo);
    for (int k = threadIdx.x; k < (r_hi - r_lo) * cols; k += blockDim.x) {
        int rr = k / cols, cc = k - rr * cols;
        long long q = (r_lo + rr) * width + c_lo + cc, s = rr * SPLAT_TILE + cc;
        if (packed) {
            for (int ch = 0; ch < n_ch; ++ch) acc[q * packed + ch] = tile[pixels + ch * pixels + s];
            acc[q * packed + n_ch] = tile[s];
        } else {
            z[q] = tile[s];
            for (int ch = 0; ch < n_ch; ++ch) acc[ch * plane + q] = tile[pixels + ch * pixels + s];
        }
    }
}

extern "C" __global__ void LAUNCH_BOUNDS gmm_bin(
        const double* xy, const double* sx, const double* sy, const double* theta,
        long long n_points, double cutoff, long long height, long long width, int* tile) {
    long long p = thread_index();
    if (p < n_points) tile[p] = (int)gmm_tile_of(p, xy, sx, sy, theta, cutoff, height, width);
}

#define GMM_ENTRY_POINTS(SUFFIX, W)                                                            \
extern "C" __global__ void LAUNCH_BOUNDS_2 gmm_splat_##SUFFIX(                                  \
        const double* xy, const W* values, const double* sx, const double* sy,                 \
        const double* theta, long long n_points, int n_ch, double cutoff, W* acc, W* z,        \
        long long height, long long width, int packed) {                                       \
    gmm_splat_point<W>(xy, values, sx, sy, theta, n_points, n_ch, cutoff, acc, z, height,      \
                       width, packed);                                                         \
}                                                                                              \
extern "C" __global__ void BLOCKS_BOUNDS(3) gmm_splat_tiles_##SUFFIX(                             \
        const double* xy, const W* values, const double* sx, const double* sy,                 \
        const double* theta, const long long* start, int n_ch, double cutoff, W* acc, W* z,    \
        long long height, long long width, int packed) {                                       \
    gmm_splat_tile<W>(xy, values, sx, sy, theta, start, n_ch, cutoff, acc, z, height, width,  \
                      packed);                                                                 \
}                                                                                              \
extern "C" __global__ void LAUNCH_BOUNDS gmm_normalise_##SUFFIX(                               \
        const W* acc, const W* z, W* out, long long n_pixels, int n_ch) {                      \
    long long q = thread_index();                                                              \
    if (q < n_pixels) gmm_normalise_one<W>(q, acc, z, out, n_pixels, n_ch);                    \
}                                                                                              \
extern "C" __global__ void LAUNCH_BOUNDS gmm_normalise_packed_##SUFFIX(                        \
        const W* acc, W* z, W* out, long long n_pixels, int n_ch, int packed) {                \
    long long q = thread_index();                                                              \
    if (q >= n_pixels) return;                                                                 \
    z[q] = acc[q * packed + n_ch];                                                             \
    gmm_normalise_at<W>(z[q], acc + q * packed, 1, out + q * n_ch, n_ch);                      \
}

GMM_ENTRY_POINTS(f32, float)
GMM_ENTRY_POINTS(f64, double)

// Order 1's blend (common/gaussians.h's gmm_plane_at), a thread a pixel, float64: means
// (H, W, 5 + 4C), mean and out (H, W, C), z (H, W), first (C).
extern "C" __global__ void LAUNCH_BOUNDS gmm_plane_f64(
        const double* means, const double* mean, const double* z, const double* first,
        long long height, long long width, int n_ch, double ridge_share, double clip,
        double* out) {
    long long q = thread_index();
    if (q >= height * width) return;
    long long k = 5 + 4 * (long long)n_ch;
    gmm_plane_at(means + q * k, mean + q * n_ch, z[q], (double)(q % width) - (width - 1) / 2.0,
                 (double)(q / width) - (height - 1) / 2.0, first, n_ch, ridge_share, clip,
                 out + q * n_ch);
}
