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
// absolute values (the heuristic of libpng and Pillow).
static void png_filter(const Array& rows, long long bpp, const Array& out) {
    long long height = rows.shape(0), stride = rows.shape(1);
    const uint8_t* in = ptr<uint8_t>(rows);
    uint8_t* o = ptr<uint8_t>(out);
#pragma omp parallel num_threads(threads_for(height * stride, 1 << 15))
    {
        std::vector<uint8_t> cand(5 * stride);
#pragma omp for schedule(dynamic, 8)
        for (long long y = 0; y < height; ++y) {
            const uint8_t* cur = in + y * stride;
            const uint8_t* prev = y > 0 ? cur - stride : nullptr;
            long long score[5] = {0, 0, 0, 0, 0};
            for (long long i = 0; i < stride; ++i) {
                int x = cur[i], a = i >= bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0;
                int c = (prev && i >= bpp) ? prev[i - bpp] : 0;
                int f[5] = {x, x - a, x - b, x - ((a + b) >> 1), x - paeth(a, b, c)};
                for (int k = 0; k < 5; ++k) {
                    uint8_t v = (uint8_t)(f[k] & 0xFF);
                    cand[k * stride + i] = v;
                    score[k] += v < 128 ? v : 256 - v;
                }
            }
            int best = 0;
            for (int k = 1; k < 5; ++k)
                if (score[k] < score[best]) best = k;
            uint8_t* row = o + y * (stride + 1);
            row[0] = (uint8_t)best;
            std::copy(cand.begin() + best * stride, cand.begin() + (best + 1) * stride, row + 1);
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
