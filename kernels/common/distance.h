// resample's kernel mathematics (kernels/common/device.h): the distance transform (the
// nearest point of every pixel).
#pragma once

#include "device.h"

// ---- Nearest point of every pixel: an exact Euclidean distance transform of the points'
// pixels (Felzenszwalb and Huttenlocher, "Distance Transforms of Sampled Functions", 2012),
// with the points' own positions as the parabolas' vertices.  seeds (H, W) holds, per pixel,
// the point that falls in it (the one nearest its centre) or -1.  Pass 1, along each column:
// for each pixel, the point of that column nearest in y, which is the nearer of the last
// seed at or above the pixel and the first at or below it (one seed a pixel, so their y
// increase down the column).  Pass 2, a row at a time: the point whose
// (x - px)^2 + (y - py)^2 is least among the columns' choices, through the lower envelope of
// their parabolas, which lives in v, va, vf (sites, their vertices and heights) and z (where
// each begins): n and n + 1 entries of scratch for a row of n pixels.

// Pass 1's choice for row i between the seeds above and below it (-1: none); ties go below.
RESAMPLE_HD long long nearer_in_y(long long i, const double* xy, long long above,
                                  long long below) {
    if (above < 0) return below;
    if (below < 0) return above;
    return fabs(xy[2 * below + 1] - (double)i) <= fabs((double)i - xy[2 * above + 1]) ? below
                                                                                        : above;
}

// Adds site s (vertex a, at least every vertex so far; height f); returns the new top k.
RESAMPLE_HD long long envelope_add(long long* v, double* va, double* vf, double* z,
                                   long long k, long long s, double a, double f) {
    while (k >= 0) {
        double at = va[k], ft = vf[k];
        if (a == at) {
            if (f >= ft) return k;           // the same vertex, no lower: s adds nothing
            --k;                             // s is below the top site everywhere
            continue;
        }
        double sect = ((f + a * a) - (ft + at * at)) / (2.0 * (a - at));
        if (k > 0 && sect <= z[k]) {
            --k;                             // the top site is hidden from sect on
            continue;
        }
        ++k;
        v[k] = s; va[k] = a; vf[k] = f; z[k] = sect;
        return k;
    }
    v[0] = s; va[0] = a; vf[0] = f; z[0] = 0.0;     // z[0] is never read: from -infinity
    return 0;
}

// out[q * stride] = the site lowest at position q, for q = 0..n-1 (-1 without sites).
RESAMPLE_HD void envelope_read(const long long* v, const double* z, long long k, long long n,
                               long long* out, long long stride) {
    long long t = 0;
    for (long long q = 0; q < n; ++q) {
        while (t < k && z[t + 1] <= (double)q) ++t;
        out[q * stride] = k < 0 ? -1 : v[t];
    }
}

// Pass 1 for column j: best[i, j] = the seed of column j nearest to row i in y.
RESAMPLE_HD void nearest_column_one(long long j, const double* xy, const long long* seeds,
                                    long long height, long long width, long long* best) {
    long long above = -1;
    for (long long i = 0; i < height; ++i) {
        long long p = seeds[i * width + j];
        if (p >= 0) above = p;
        best[i * width + j] = above;
    }
    long long below = -1;
    for (long long i = height - 1; i >= 0; --i) {
        long long p = seeds[i * width + j];
        if (p >= 0) below = p;
        best[i * width + j] = nearer_in_y(i, xy, best[i * width + j], below);
    }
}

// Pass 2 for row i: nearest[i, j] = the point of least distance among best[i, :].
RESAMPLE_HD void nearest_row_one(long long i, const double* xy, const long long* best,
                                 long long width, long long* nearest, long long* v,
                                 double* va, double* vf, double* z) {
    long long k = -1;
    for (long long j = 0; j < width; ++j) {
        long long p = best[i * width + j];
        if (p < 0) continue;
        double dy = (double)i - xy[2 * p + 1];
        k = envelope_add(v, va, vf, z, k, p, xy[2 * p], dy * dy);
    }
    envelope_read(v, z, k, width, nearest + i * width, 1);
}
