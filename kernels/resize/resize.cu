// Resizing on the GPU: the separable passes (along columns, along rows) and the one-pass
// tiled resize.  Tiles too large for shared memory fall back to gather/gather.cu's
// gather_pixel.
//
// A part of the GPU engine's one CUDA module: kernels/resample.cu includes it after
// kernels/common/ (and the parts it names), so it has no includes of its own.

// The pass along columns: dst[r, o, :] from src[r, :, :].  One thread per output pixel
// (r, o), its channels in registers, PIXEL_CHANNELS at a time.
template <typename In, typename Out, typename W>
__device__ __forceinline__ void cols_pass(
        const In* __restrict__ src, Out* __restrict__ dst, long long n_rows,
        long long cols_in, long long cols_out, int n_ch, TABLE_PARAMS(W, ), W fill, W lo,
        W hi, int rounding) {
    long long q = thread_index();
    if (q >= n_rows * cols_out) return;
    long long o;
    long long r = divide(q, cols_out, &o);
    for (int c0 = 0; c0 < n_ch; c0 += PIXEL_CHANNELS) {
        int nc = n_ch - c0 < PIXEL_CHANNELS ? n_ch - c0 : PIXEL_CHANNELS;
        W v[PIXEL_CHANNELS];
        apply_taps_pixel(src + r * cols_in * n_ch + c0, n_ch, index + o * width, 0,
                         weight + o * width, count[o], fill_weight[o], fill, nc, v);
#pragma unroll
        for (int c = 0; c < PIXEL_CHANNELS; ++c)
            if (c < nc) dst[q * n_ch + c0 + c] = store_out<Out, W>(v[c], lo, hi, rounding);
    }
}

// The pass along rows: dst[o, :] from rows of src, each row seen as row_size values.
template <typename In, typename Out, typename W>
__device__ __forceinline__ void rows_pass(
        const In* __restrict__ src, Out* __restrict__ dst, long long rows_out,
        long long row_size, TABLE_PARAMS(W, ), W fill, W lo, W hi, int rounding) {
    long long q = thread_index();
    if (q >= rows_out * row_size) return;
    long long m;
    long long o = divide(q, row_size, &m);
    dst[q] = store_out<Out, W>(apply_taps(src + m, row_size, TABLE_ROW(, o), fill), lo, hi,
                                  rounding);
}

// A resize a tile of tile_rows x TILE output pixels a block (tile_rows: TILE, or
// TILE_ROWS_MAX where the host finds every tile fits tiled_fast so), through shared memory:
// the tile's input footprint (rows y_span[2 t] .. y_span[2 t + 1] of its tile row t, columns
// likewise from x_span) is read from global memory once; the x taps make a float row a
// footprint row and output column, in shared memory; the y taps make the outputs from them.
// The same sums as the two passes (cols first) and gather_pixel, bit for bit.  Two ways:
// - tiled_fast (8/16-bit pictures of at most 4 channels in float work, at most TILE_TAPS
//   taps an axis, no zero weight and no fill term: the host says so in ``fast``): the
//   footprint kept packed (RGB 8-bit: a 32-bit word a pixel) and lifted to float by its
//   bits; a thread a fixed output column in the x pass, its taps in registers; the tile's
//   y table rows in shared memory; two output rows a thread where their taps are shifts of
//   each other (y_pair), each row they read loaded once for both.
// - tiled_general (any type and channel count): samples converted to the work type in shared
//   memory, tables read from global memory a tap at a time.
// A tile whose footprint does not fit in TILE_BYTES is computed by gather_pixel.
#define TILE 32
#define TILE_BYTES 32768
#define TILE_TAPS 8                        // the most taps an axis tiled_fast holds
#define TILED_THREADS 128                  // a tiled_* block's threads (resample/gpu.py's)
#define TILE_ROWS (TILED_THREADS / TILE)   // rows a block's threads cover at once
#define TILE_ROWS_MAX 64                   // a tile's rows: TILE, or up to this (``tile_rows``)

// Where a block's tile lies: output rows r0 .. r0 + n_r - 1 and columns o0 .. o0 + n_c - 1,
// reading input rows r_lo .. r_lo + nr - 1 and columns c_lo .. c_lo + nc - 1.  In 32 bits
// (the host takes the tiled kernel only for sides below 2^31): a 64-bit division and the
// 64-bit clamps cost every thread of every tile some 50 instructions more.
struct TileGeometry {
    int r0, o0, n_r, n_c, r_lo, nr, c_lo, nc;
};

__device__ __forceinline__ TileGeometry tile_geometry(long long rows_out, long long cols_out,
                                                      int tile_rows,
                                                      const int* __restrict__ y_span,
                                                      const int* __restrict__ x_span) {
    TileGeometry g;
    unsigned across = ((unsigned)cols_out + TILE - 1) / TILE;
    unsigned ti = blockIdx.x / across, tj = blockIdx.x - ti * across;
    g.r0 = (int)ti * tile_rows;
    g.o0 = (int)tj * TILE;
    g.n_r = min((int)rows_out - g.r0, tile_rows);
    g.n_c = min((int)cols_out - g.o0, TILE);
    g.r_lo = y_span[2 * ti];
    g.nr = y_span[2 * ti + 1] - g.r_lo + 1;
    g.c_lo = x_span[2 * tj];
    g.nc = x_span[2 * tj + 1] - g.c_lo + 1;
    return g;
}

// A pixel of N samples of T as one aligned vector (one shared-memory load or store).
template <typename T, int N>
struct alignas(sizeof(T) * N) Vec {
    T c[N];
};
// Samples a pixel of NC channels is padded to: a vector load is of 1, 2 or 4 elements.
template <int NC>
struct Padded {
    enum { n = NC == 3 ? 4 : NC };
};

// Samples in float, offset so that differences are exact and cheap: 8/16-bit samples as
// 2^23 + v (their bits under the exponent byte of 2^23: one byte permutation, where a
// conversion runs at an eighth of the FP32 rate), so lift(v) - lift(b) is (float)v - b and
// lift(v) - LIFT is v.
#define LIFT 8388608.0f

// The NC 8/16-bit samples of a pixel, lifted (LIFT) straight from the pixel's words.
template <typename In, int NC>
__device__ __forceinline__ void lift_pixel(const Vec<In, Padded<NC>::n>& p, float* out) {
    typedef Vec<In, Padded<NC>::n> Pixel;
    static_assert(sizeof(In) <= 2, "tiled_fast lifts 8/16-bit samples");
    {
        unsigned words[(sizeof(Pixel) + 3) / 4];
        if constexpr (sizeof(Pixel) == 1) words[0] = *(const unsigned char*)&p;
        else if constexpr (sizeof(Pixel) == 2) words[0] = *(const unsigned short*)&p;
        else {
            words[0] = ((const unsigned*)&p)[0];
            if constexpr (sizeof(Pixel) == 8) words[1] = ((const unsigned*)&p)[1];
        }
#pragma unroll
        for (int c = 0; c < NC; ++c) {
            unsigned select = sizeof(In) == 1 ? 0x7440u | c
                                              : 0x7400u | (c % 2 * 2) | ((c % 2 * 2 + 1) << 4);
            unsigned word = words[sizeof(In) == 1 ? 0 : c / 2];
            out[c] = __uint_as_float(__byte_perm(word, 0x4B000000u, select));
        }
    }
}

// A tap of a table row in shared memory: the input index less the tile's first, its weight.
struct TileTap {
    int index;
    float weight;
};

// Shared memory tiled_fast needs: the y table rows and pair shifts, the footprint, the x
// pass's rows (a row TILE pixels of Padded<NC> floats).
#define FAST_TABLE_BYTES                                                                      \
    (TILE_ROWS_MAX * TILE_TAPS * 8 + TILE_ROWS_MAX * 4 + TILE_ROWS_MAX / 2 * 4)
template <typename In, int NC>
__device__ __forceinline__ long long fast_tile_bytes(const TileGeometry& g) {
    long long in = ((long long)g.nr * g.nc * sizeof(Vec<In, Padded<NC>::n>) + 15) / 16 * 16;
    return FAST_TABLE_BYTES + in + (long long)g.nr * TILE * sizeof(Vec<float, Padded<NC>::n>);
}

template <typename Out, int NC>
__device__ __forceinline__ void store_pixel(Out* q, const float* acc) {
#pragma unroll
    for (int c = 0; c < NC; ++c) q[c] = store_saturated<Out>(acc[c]);
}

// A pixel of the x pass's rows at a byte offset (a tap's ``index``) from a column's base.
template <int NC>
__device__ __forceinline__ Vec<float, Padded<NC>::n> mid_at(const unsigned char* base, int off) {
    return *(const Vec<float, Padded<NC>::n>*)(base + off);
}

// The x pass for one output column and the footprint rows row0, row0 + TILE_ROWS, ...: N
// taps (byte offsets into a footprint row, weights) in registers.  The sum starts at the
// first tap's sample (8/16-bit: a float exactly, never -0, always a sum_base; no fill term
// in tiled_fast), so its own term, w (v - base) = 0, is left out: the same value.
// The column's taps read N consecutive footprint pixels from index[0] (the usual case:
// other columns take x_rows_any), so their addresses are the first's plus constants.
template <typename In, int NC, int N>
__device__ __forceinline__ void x_rows(const unsigned char* line, int line_bytes, int rows,
                                       int row0, const int* index, const float* weight,
                                       int first, unsigned char* mid_col) {
    typedef Vec<In, Padded<NC>::n> InPixel;
    typedef Vec<float, Padded<NC>::n> MidPixel;
    float w[N];
#pragma unroll
    for (int k = 0; k < N; ++k) w[k] = weight[k];
    line += row0 * line_bytes + (index[0] - first) * (int)sizeof(InPixel);
    mid_col += row0 * TILE * sizeof(MidPixel);
    for (int rr = row0; rr < rows; rr += TILE_ROWS) {
        const InPixel* px = (const InPixel*)line;
        float ref[NC], acc[NC];
        lift_pixel<In, NC>(px[0], ref);
#pragma unroll
        for (int c = 0; c < NC; ++c) acc[c] = ref[c] - LIFT;
#pragma unroll
        for (int k = 1; k < N; ++k) {
            float v[NC];
            lift_pixel<In, NC>(px[k], v);
#pragma unroll
            for (int c = 0; c < NC; ++c) acc[c] = fused(w[k], v[c] - ref[c], acc[c]);
        }
        MidPixel m;
#pragma unroll
        for (int c = 0; c < Padded<NC>::n; ++c) m.c[c] = c < NC ? acc[c] : 0.0f;
        *(MidPixel*)mid_col = m;
        line += TILE_ROWS * line_bytes;
        mid_col += TILE_ROWS * TILE * sizeof(MidPixel);
    }
}

// x_rows for any taps (a loop over them, from the table in global memory): columns whose
// taps are not consecutive (merged at an edge) or more than TILE_TAPS.
template <typename In, int NC>
__device__ __forceinline__ void x_rows_any(const unsigned char* line, int line_bytes,
                                           int rows, int row0, const int* index,
                                           const float* weight, int count, int first,
                                           unsigned char* mid_col) {
    typedef Vec<In, Padded<NC>::n> InPixel;
    typedef Vec<float, Padded<NC>::n> MidPixel;
    for (int rr = row0; rr < rows; rr += TILE_ROWS) {
        const InPixel* px = (const InPixel*)(line + rr * line_bytes);
        float ref[NC], acc[NC];
        lift_pixel<In, NC>(px[index[0] - first], ref);
#pragma unroll
        for (int c = 0; c < NC; ++c) acc[c] = ref[c] - LIFT;
        for (int k = 1; k < count; ++k) {
            float v[NC];
            lift_pixel<In, NC>(px[index[k] - first], v);
#pragma unroll
            for (int c = 0; c < NC; ++c) acc[c] = fused(weight[k], v[c] - ref[c], acc[c]);
        }
        MidPixel m;
#pragma unroll
        for (int c = 0; c < Padded<NC>::n; ++c) m.c[c] = c < NC ? acc[c] : 0.0f;
        *(MidPixel*)(mid_col + rr * TILE * sizeof(MidPixel)) = m;
    }
}

// One output pixel of the y pass from a table row in shared memory, any count.
template <int NC>
__device__ __forceinline__ void y_one(const unsigned char* mid_col, const TileTap* taps,
                                      int count, float* acc) {
    Vec<float, Padded<NC>::n> p0 = mid_at<NC>(mid_col, taps[0].index);
    float base[NC];
#pragma unroll
    for (int c = 0; c < NC; ++c) acc[c] = base[c] = p0.c[c];
    for (int k = 1; k < count; ++k) {
        TileTap e = taps[k];
        Vec<float, Padded<NC>::n> p = mid_at<NC>(mid_col, e.index);
#pragma unroll
        for (int c = 0; c < NC; ++c) acc[c] = fused(e.weight, p.c[c] - base[c], acc[c]);
    }
}

// Two output rows at once, N taps each on consecutive rows, the second's S rows below the
// first's (index1[k] = index0[k + S] = index0[0] + k + S): the N + S rows they read are each
// loaded once (at the first's address plus constants) and added to both sums as they come,
// each sum in its own taps' order.  In the columns of mid_col and Y_COLUMN_STEP bytes on
// (the thread's two columns: the table rows and the addresses serve both): acc[column][row].
#define Y_COLUMN_STEP (TILE / 2)                // the second column of a y-pass thread
template <int NC, int N, int S>
__device__ __forceinline__ void y_pair(const unsigned char* mid_col, const TileTap* t0,
                                       const TileTap* t1, float (*acc)[2][NC]) {
    float base[2][2][NC];
    const unsigned char* first = mid_col + t0[0].index;
    const int pixel = (int)sizeof(Vec<float, Padded<NC>::n>);
#pragma unroll
    for (int r = 0; r < N + S; ++r) {
#pragma unroll
        for (int col = 0; col < 2; ++col) {
            Vec<float, Padded<NC>::n> p =
                mid_at<NC>(first, r * TILE * pixel + col * Y_COLUMN_STEP * pixel);
            float* a0 = acc[col][0];
            float* a1 = acc[col][1];
#pragma unroll
            for (int c = 0; c < NC; ++c) {
                if (r == 0) a0[c] = base[col][0][c] = p.c[c];
                else if (r < N) a0[c] = fused(t0[r].weight, p.c[c] - base[col][0][c], a0[c]);
                if (r == S) a1[c] = base[col][1][c] = p.c[c];
                else if (r > S) a1[c] = fused(t1[r - S].weight, p.c[c] - base[col][1][c], a1[c]);
            }
        }
    }
}

template <typename In, typename Out, int NC>
__device__ __forceinline__ void tiled_fast(
        const In* __restrict__ src, Out* __restrict__ dst, long long cols_in,
        long long cols_out, TABLE_PARAMS(float, y_), TABLE_PARAMS(float, x_),
        const TileGeometry& g, unsigned char* smem) {
    typedef Vec<In, Padded<NC>::n> InPixel;
    typedef Vec<float, Padded<NC>::n> MidPixel;
    TileTap* y_taps = (TileTap*)smem;                      // [TILE_ROWS_MAX][TILE_TAPS]
    int* y_counts = (int*)(y_taps + TILE_ROWS_MAX * TILE_TAPS);    // [TILE_ROWS_MAX]
    int* y_shift = y_counts + TILE_ROWS_MAX;               // [TILE_ROWS_MAX / 2]: -1 or S
    InPixel* in_s = (InPixel*)(smem + FAST_TABLE_BYTES);   // [nr][nc]
    unsigned char* mid = smem + fast_tile_bytes<In, NC>(g)
                         - (long long)g.nr * TILE * sizeof(MidPixel);   // [nr][TILE]
    const int t = threadIdx.x, lane = t % TILE, row0 = t / TILE;
    const int mid_row = TILE * sizeof(MidPixel);

    // The tile's y table rows (indices as byte offsets of x-pass rows), which pairs of rows
    // y_pair can take, and the footprint: a warp a row, a thread a pixel.
    if (t < g.n_r) {
        long long o = g.r0 + t;
        int count = y_count[o];
        y_counts[t] = count;
#pragma unroll
        for (int k = 0; k < TILE_TAPS; ++k) {
            TileTap e = {0, 0.0f};
            if (k < count)
                e = {(y_index[o * y_width + k] - g.r_lo) * mid_row, y_weight[o * y_width + k]};
            y_taps[t * TILE_TAPS + k] = e;
        }
    } else if (t >= TILE_ROWS_MAX && t < TILE_ROWS_MAX + TILE_ROWS_MAX / 2) {
        int pair = t - TILE_ROWS_MAX, shift = -1;
        long long o = g.r0 + 2 * pair;
        if (2 * pair + 1 < g.n_r && y_count[o] == y_count[o + 1]) {
            int n = y_count[o];
            const int* i0 = y_index + o * y_width;
            const int* i1 = i0 + y_width;
            bool runs = n == 2 || n == 3 || n == 4 || n == 6;    // consecutive rows
            for (int k = 1; k < n && runs; ++k) runs = i0[k] == i0[0] + k && i1[k] == i1[0] + k;
            for (int s = 0; s <= 1 && runs && shift < 0; ++s)
                if (i1[0] == i0[0] + s) shift = s;
        }
        y_shift[pair] = shift;
    }
    for (int rr = row0; rr < g.nr; rr += TILE_ROWS) {
        const In* line = src + ((long long)(g.r_lo + rr) * cols_in + g.c_lo) * NC;
        for (int cc = lane; cc < g.nc; cc += TILE) {
            InPixel v;
#pragma unroll
            for (int c = 0; c < Padded<NC>::n; ++c) v.c[c] = c < NC ? line[cc * NC + c] : In(0);
            in_s[rr * g.nc + cc] = v;
        }
    }
    __syncthreads();

    // The x pass: the thread's output column down the footprint rows.
    unsigned char* mid_col = mid + lane * sizeof(MidPixel);
    if (lane < g.n_c) {
        long long o = g.o0 + lane;
        int count = x_count[o];
        const int* index = x_index + o * x_width;
        bool runs = true;                               // consecutive pixels
        for (int k = 1; k < count && runs; ++k) runs = index[k] == index[0] + k;
        const unsigned char* line = (const unsigned char*)in_s;
        int line_bytes = g.nc * (int)sizeof(InPixel);
        const float* weight = x_weight + o * x_width;
#define X_ROWS(N) x_rows<In, NC, N>(line, line_bytes, g.nr, row0, index, weight, g.c_lo, mid_col)
        switch (runs ? count : 0) {
            case 1: X_ROWS(1); break;
            case 2: X_ROWS(2); break;
            case 3: X_ROWS(3); break;
            case 4: X_ROWS(4); break;
            case 5: X_ROWS(5); break;
            case 6: X_ROWS(6); break;
            case 7: X_ROWS(7); break;
            case 8: X_ROWS(8); break;
            default:
                x_rows_any<In, NC>(line, line_bytes, g.nr, row0, index, weight, count, g.c_lo,
                                   mid_col);
        }
#undef X_ROWS
    }
    __syncthreads();

    // The y pass: a thread a pair of output rows in two columns, lane and lane + 16 (the
    // table rows broadcast to the 16 threads of a pair; two pairs a warp).
    const int half = t % Y_COLUMN_STEP, group = t / Y_COLUMN_STEP;
    const int groups = TILED_THREADS / Y_COLUMN_STEP;
    if (half >= g.n_c) return;
    const bool second = half + Y_COLUMN_STEP < g.n_c;
    const unsigned char* y_col = mid + half * sizeof(MidPixel);
    Out* q = dst + ((long long)(g.r0 + 2 * group) * cols_out + g.o0 + half) * NC;
    const long long pair_step = 2 * groups * cols_out * NC;
    for (int pair = group; 2 * pair < g.n_r; pair += groups, q += pair_step) {
        const TileTap* t0 = y_taps + 2 * pair * TILE_TAPS;
        const TileTap* t1 = t0 + TILE_TAPS;
        const bool both = 2 * pair + 1 < g.n_r;
        float acc[2][2][NC];
        int shift = y_shift[pair];
        int key = shift < 0 ? 0 : y_counts[2 * pair] * 2 + shift;
#define Y_PAIR(N, S) case N * 2 + S: y_pair<NC, N, S>(y_col, t0, t1, acc); break;
        switch (key) {
            Y_PAIR(2, 0) Y_PAIR(2, 1) Y_PAIR(3, 0) Y_PAIR(3, 1)
            Y_PAIR(4, 0) Y_PAIR(4, 1) Y_PAIR(6, 0) Y_PAIR(6, 1)
            default:
#pragma unroll
                for (int col = 0; col < 2; ++col) {
                    const unsigned char* at = y_col + col * Y_COLUMN_STEP * sizeof(MidPixel);
                    y_one<NC>(at, t0, y_counts[2 * pair], acc[col][0]);
                    if (both) y_one<NC>(at, t1, y_counts[2 * pair + 1], acc[col][1]);
                }
        }
#undef Y_PAIR
        store_pixel<Out, NC>(q, acc[0][0]);
        if (both) store_pixel<Out, NC>(q + cols_out * NC, acc[0][1]);
        if (second) {
            store_pixel<Out, NC>(q + Y_COLUMN_STEP * NC, acc[1][0]);
            if (both) store_pixel<Out, NC>(q + cols_out * NC + Y_COLUMN_STEP * NC, acc[1][1]);
        }
    }
}

// Any type and channel count: the footprint in the work type, tables from global memory.
template <typename In, typename Out, typename W>
__device__ __forceinline__ void tiled_general(
        const In* __restrict__ src, Out* __restrict__ dst, long long cols_in,
        long long cols_out, int n_ch, TABLE_PARAMS(W, y_), TABLE_PARAMS(W, x_),
        const TileGeometry& g, W fill, W lo, W hi, int rounding, W* smem) {
    long long in_words = (long long)g.nr * g.nc * n_ch, row_words = (long long)g.n_c * n_ch;
    W* in_s = smem;
    W* rows_s = smem + in_words;
    long long line = (long long)g.nc * n_ch;
    for (long long k = threadIdx.x; k < in_words; k += blockDim.x) {
        long long rest;
        long long rr = divide(k, line, &rest);
        in_s[k] = (W)src[(g.r_lo + rr) * cols_in * n_ch + (long long)g.c_lo * n_ch + rest];
    }
    __syncthreads();
    for (int k = threadIdx.x; k < g.nr * g.n_c; k += blockDim.x) {
        int rr = k / g.n_c, oc = k - rr * g.n_c;
        long long o = g.o0 + oc;
        for (int c0 = 0; c0 < n_ch; c0 += PIXEL_CHANNELS) {
            int ncs = n_ch - c0 < PIXEL_CHANNELS ? n_ch - c0 : PIXEL_CHANNELS;
            W v[PIXEL_CHANNELS];
            apply_taps_pixel(in_s + rr * line + c0, n_ch, x_index + o * x_width, g.c_lo,
                             x_weight + o * x_width, x_count[o], x_fill_weight[o], fill, ncs,
                             v);
#pragma unroll
            for (int c = 0; c < PIXEL_CHANNELS; ++c)
                if (c < ncs) rows_s[rr * row_words + oc * n_ch + c0 + c] = v[c];
        }
    }
    __syncthreads();
    for (int k = threadIdx.x; k < g.n_r * g.n_c; k += blockDim.x) {
        int orr = k / g.n_c, oc = k - orr * g.n_c;
        long long o = g.r0 + orr;
        for (int c0 = 0; c0 < n_ch; c0 += PIXEL_CHANNELS) {
            int ncs = n_ch - c0 < PIXEL_CHANNELS ? n_ch - c0 : PIXEL_CHANNELS;
            W v[PIXEL_CHANNELS];
            apply_taps_pixel(rows_s + oc * n_ch + c0, row_words, y_index + o * y_width, g.r_lo,
                             y_weight + o * y_width, y_count[o], y_fill_weight[o], fill, ncs,
                             v);
#pragma unroll
            for (int c = 0; c < PIXEL_CHANNELS; ++c)
                if (c < ncs)
                    dst[(o * cols_out + g.o0 + oc) * n_ch + c0 + c] =
                        store_out<Out, W>(v[c], lo, hi, rounding);
        }
    }
}

template <typename In, typename Out, typename W>
__device__ __forceinline__ void tiled_pass(
        const In* __restrict__ src, Out* __restrict__ dst, long long cols_in,
        long long rows_out, long long cols_out, int n_ch, TABLE_PARAMS(W, y_),
        TABLE_PARAMS(W, x_), const int* __restrict__ y_span, const int* __restrict__ x_span,
        W fill, W lo, W hi, int rounding, int fast, int tile_rows) {
    __shared__ __align__(16) unsigned char smem[TILE_BYTES];
    TileGeometry g = tile_geometry(rows_out, cols_out, tile_rows, y_span, x_span);
    if constexpr (sizeof(W) == 4 && sizeof(In) <= 2) {     // (float images spill with it)
#define TILED_FAST(NC)                                                                         \
        if (n_ch == NC && fast_tile_bytes<In, NC>(g) <= TILE_BYTES) {                          \
            tiled_fast<In, Out, NC>(src, dst, cols_in, cols_out, y_index, y_weight, y_count,   \
                                    y_fill_weight, y_width, x_index, x_weight, x_count,        \
                                    x_fill_weight, x_width, g, smem);                          \
            return;                                                                            \
        }
        if (fast) {
            TILED_FAST(1)
            TILED_FAST(2)
            TILED_FAST(3)
            TILED_FAST(4)
        }
#undef TILED_FAST
    }
    long long in_words = (long long)g.nr * g.nc * n_ch, row_words = (long long)g.n_c * n_ch;
    if ((in_words + g.nr * row_words) * (long long)sizeof(W) <= TILE_BYTES) {
        tiled_general<In, Out, W>(src, dst, cols_in, cols_out, n_ch, y_index, y_weight,
                                  y_count, y_fill_weight, y_width, x_index, x_weight, x_count,
                                  x_fill_weight, x_width, g, fill, lo, hi, rounding, (W*)smem);
        return;
    }
    for (int k = threadIdx.x; k < g.n_r * g.n_c; k += blockDim.x) {   // too wide: gather
        long long ty = g.r0 + k / g.n_c, tx = g.o0 + k % g.n_c;
        gather_pixel<In, Out, W>(src, dst, ty * cols_out + tx, ty, tx, cols_in, n_ch, y_index,
                                 y_weight, y_count, y_fill_weight, y_width, x_index, x_weight,
                                 x_count, x_fill_weight, x_width, fill, lo, hi, rounding);
    }
}

// extern "C" entry points of the two passes, one per (input, output) type pair: NAME_IN_OUT.
#define RESIZE_ENTRY_POINTS(SUFFIX, IN, OUT, W, MIN_BLOCKS)                                  \
extern "C" __global__ void BLOCKS_BOUNDS(MIN_BLOCKS) cols_##SUFFIX(                             \
        const IN* src, OUT* dst, long long n_rows, long long cols_in, long long cols_out,      \
        int n_ch, TABLE_PARAMS(W, ), W fill, W lo, W hi, int rounding) {                       \
    cols_pass<IN, OUT, W>(src, dst, n_rows, cols_in, cols_out, n_ch, index, weight, count,    \
                          fill_weight, width, fill, lo, hi, rounding);                         \
}                                                                                              \
extern "C" __global__ void LAUNCH_BOUNDS rows_##SUFFIX(                                         \
        const IN* src, OUT* dst, long long rows_out, long long row_size, TABLE_PARAMS(W, ),    \
        W fill, W lo, W hi, int rounding) {                                                    \
    rows_pass<IN, OUT, W>(src, dst, rows_out, row_size, index, weight, count, fill_weight,    \
                          width, fill, lo, hi, rounding);                                      \
}

// The tiled resize, from an image's type to itself.
#define TILED_ENTRY_POINT(SUFFIX, T, W, MIN_BLOCKS)                                            \
extern "C" __global__ void TILED_BOUNDS(MIN_BLOCKS) tiled_##SUFFIX(                           \
        const T* src, T* dst, long long cols_in, long long rows_out, long long cols_out,       \
        int n_ch, TABLE_PARAMS(W, y_), TABLE_PARAMS(W, x_), const int* y_span,                 \
        const int* x_span, W fill, W lo, W hi, int rounding, int fast, int tile_rows) {        \
    tiled_pass<T, T, W>(src, dst, cols_in, rows_out, cols_out, n_ch, y_index, y_weight,       \
                        y_count, y_fill_weight, y_width, x_index, x_weight, x_count,           \
                        x_fill_weight, x_width, y_span, x_span, fill, lo, hi, rounding, fast,  \
                        tile_rows);                                                            \
}
// (Bounds: TILED_THREADS (128) threads, and at least 5 blocks an SM for 8/16-bit images (96
// registers: tiled_fast's unrolled sums of two rows in two columns spill at 80), 7 for float
// ones (73; shared memory allows 7) and 4 for double (128).)
TILED_ENTRY_POINT(u8_u8, unsigned char, float, 5)
TILED_ENTRY_POINT(u16_u16, unsigned short, float, 5)
TILED_ENTRY_POINT(f32_f32, float, float, 7)
TILED_ENTRY_POINT(f64_f64, double, double, 4)

// (The gathers and column passes of float work are held to at least 4 blocks an SM, 64
// registers: left to itself ptxas kept some at 48 or 40 registers and spilled.)
// First passes read the image's type into the work type; second passes store it back; the
// one-pass resize goes from the image's type to itself.
RESIZE_ENTRY_POINTS(u8_f32, unsigned char, float, float, 4)
RESIZE_ENTRY_POINTS(f32_u8, float, unsigned char, float, 4)
RESIZE_ENTRY_POINTS(u8_u8, unsigned char, unsigned char, float, 4)
RESIZE_ENTRY_POINTS(u16_f32, unsigned short, float, float, 4)
RESIZE_ENTRY_POINTS(f32_u16, float, unsigned short, float, 4)
RESIZE_ENTRY_POINTS(u16_u16, unsigned short, unsigned short, float, 4)
RESIZE_ENTRY_POINTS(f32_f32, float, float, float, 4)
RESIZE_ENTRY_POINTS(f64_f64, double, double, double, 1)
