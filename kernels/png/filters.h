// PNG's row filters (the encoder's choice per row, and the decoder's inverse) on the CPU.
// In namespace RESAMPLE_ISA (kernels/cpu/isa.h), compiled once per instruction set.
#pragma once

#include "../cpu/isa.h"

namespace RESAMPLE_ISA {

// ---- PNG row filters ---------------------------------------------------------------------------
static inline int paeth(int a, int b, int c) {
    int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
    return (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
}

// Each row of rows (H, S) goes to out (H, S + 1) as its filter byte and the output of the
// filter (None, Sub, Up, Average, Paeth) whose bytes, read as signed, have the smallest sum of
// absolute values (the heuristic of libpng and Pillow).  A row is read twice, once to score
// the five filters and once to write the best: no copy of it is held (a 40-million-pixel
// row's five candidates would take 600 MB a thread).
static inline long long png_cost(int f) {
    uint8_t v = (uint8_t)(f & 0xFF);
    return v < 128 ? v : 256 - v;
}

template <int K>
static void png_write_filter(const uint8_t* cur, const uint8_t* prev, long long stride,
                             long long bpp, uint8_t* row) {
    for (long long i = 0; i < stride; ++i) {
        int x = cur[i], a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0;
        int c = (prev && i >= bpp) ? prev[i - bpp] : 0;
        int f = K == 0 ? x : K == 1 ? x - a : K == 2 ? x - b : K == 3 ? x - ((a + b) >> 1)
                                                                      : x - paeth(a, b, c);
        row[i] = (uint8_t)(f & 0xFF);
    }
}

static void png_filter(const Array& rows, long long bpp, const Array& out) {
    long long height = rows.shape(0), stride = rows.shape(1);
    const uint8_t* in = ptr<uint8_t>(rows);
    uint8_t* o = ptr<uint8_t>(out);
#pragma omp parallel for num_threads(threads_for(height * stride, 1 << 15)) schedule(dynamic, 8)
    for (long long y = 0; y < height; ++y) {
        const uint8_t* cur = in + y * stride;
        const uint8_t* prev = y > 0 ? cur - stride : nullptr;
        long long score[5] = {0, 0, 0, 0, 0};
        for (long long i = 0; i < stride; ++i) {
            int x = cur[i], a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0;
            int c = (prev && i >= bpp) ? prev[i - bpp] : 0;
            score[0] += png_cost(x);
            score[1] += png_cost(x - a);
            score[2] += png_cost(x - b);
            score[3] += png_cost(x - ((a + b) >> 1));
            score[4] += png_cost(x - paeth(a, b, c));
        }
        int best = 0;
        for (int k = 1; k < 5; ++k)
            if (score[k] < score[best]) best = k;
        uint8_t* row = o + y * (stride + 1);
        row[0] = (uint8_t)best;
        switch (best) {
            case 0: png_write_filter<0>(cur, prev, stride, bpp, row + 1); break;
            case 1: png_write_filter<1>(cur, prev, stride, bpp, row + 1); break;
            case 2: png_write_filter<2>(cur, prev, stride, bpp, row + 1); break;
            case 3: png_write_filter<3>(cur, prev, stride, bpp, row + 1); break;
            default: png_write_filter<4>(cur, prev, stride, bpp, row + 1); break;
        }
    }
}

// Undo the filters of raw (at least H x (S + 1) bytes) into out (H, S); false on an unknown
// filter type.
static bool png_unfilter(const Array& raw, long long bpp, const Array& out) {
    long long height = out.shape(0), stride = out.shape(1);
    const uint8_t* in = ptr<uint8_t>(raw);
    uint8_t* o = ptr<uint8_t>(out);
    for (long long y = 0; y < height; ++y) {
        const uint8_t* line = in + y * (stride + 1) + 1;
        int type = in[y * (stride + 1)];
        uint8_t* cur = o + y * stride;
        const uint8_t* prev = y > 0 ? cur - stride : nullptr;
        if (type > 4) return false;
        for (long long i = 0; i < stride; ++i) {
            int a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0;
            int c = (prev && i >= bpp) ? prev[i - bpp] : 0, x = line[i];
            if (type == 1) x += a;
            else if (type == 2) x += b;
            else if (type == 3) x += (a + b) >> 1;
            else if (type == 4) x += paeth(a, b, c);
            cur[i] = (uint8_t)(x & 0xFF);
        }
    }
    return true;
}


}  // namespace RESAMPLE_ISA
