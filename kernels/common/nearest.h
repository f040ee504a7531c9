// resample's kernel mathematics (kernels/common/device.h): the k nearest points through a grid.
#pragma once

#include "device.h"

// ---- Nearest points, through a uniform grid of square cells (resample/gmm.py's PointGrid):
// cell (i, j) covers x in [x0 + i cell, x0 + (i + 1) cell), y likewise (the border cells
// also hold the points beyond them), and holds the points order[start[j nx + i] ..
// start[j nx + i + 1]), whose coordinates cell_xy holds in that order (read in sequence).  For query p, the k nearest points (squared distances and indices,
// ascending; ties in the order the cells are visited), found ring by ring around the
// query's cell until no unvisited cell can hold a nearer point.  exclude_self: query p is
// point p, which is skipped.  k is at most the number of points (less one with
// exclude_self).  The output rows d2[p], idx[p] are the working lists.
// Candidate i at squared distance d into the k best so far (best_d ascending, *found of
// them): kept where fewer than k are found or it is nearer than the k-th.
RESAMPLE_HD void knn_insert(double d, long long i, int k, int* found, double* best_d,
                            long long* best_i) {
    if (*found == k && !(d < best_d[k - 1])) return;
    int m = *found < k ? (*found)++ : k - 1;
    while (m > 0 && best_d[m - 1] > d) {
        best_d[m] = best_d[m - 1];
        best_i[m] = best_i[m - 1];
        --m;
    }
    best_d[m] = d;
    best_i[m] = i;
}

RESAMPLE_HD void knn_one(long long p, const double* cell_xy, const long long* order,
                         const long long* start, double x0, double y0, double cell,
                         long long nx, long long ny, const double* queries, int k,
                         int exclude_self, double* d2, long long* idx) {
    double qx = queries[2 * p], qy = queries[2 * p + 1];
    double* best_d = d2 + p * k;
    long long* best_i = idx + p * k;
    int found = 0;
    double fx = fmin(fmax(floor((qx - x0) / cell), 0.0), (double)(nx - 1));
    double fy = fmin(fmax(floor((qy - y0) / cell), 0.0), (double)(ny - 1));
    long long cx = (long long)fx, cy = (long long)fy;
    for (long long r = 0;; ++r) {
        long long j0 = cy - r < 0 ? 0 : cy - r, j1 = cy + r > ny - 1 ? ny - 1 : cy + r;
        for (long long j = j0; j <= j1; ++j) {
            // the ring's top and bottom rows whole; the rows between, their two ends only
            long long step = (j == cy - r || j == cy + r || r == 0) ? 1 : 2 * r;
            for (long long i = cx - r; i <= cx + r; i += step) {
                if (i < 0 || i >= nx) continue;
                long long c = j * nx + i;
                for (long long s = start[c]; s < start[c + 1]; ++s) {
                    long long t = order[s];
                    if (exclude_self && t == p) continue;
                    double dx = cell_xy[2 * s] - qx, dy = cell_xy[2 * s + 1] - qy;
                    knn_insert(dx * dx + dy * dy, t, k, &found, best_d, best_i);
                    if (found == k && best_d[k - 1] <= 0.0) return;   // none can be nearer
                }
            }
        }
        // the distance from q to the cells not visited yet (no cells beyond a side: none)
        bool bounded = false;
        double bound = 0;
        double side[4] = {qx - (x0 + (cx - r) * cell), x0 + (cx + r + 1) * cell - qx,
                          qy - (y0 + (cy - r) * cell), y0 + (cy + r + 1) * cell - qy};
        bool more[4] = {cx - r > 0, cx + r < nx - 1, cy - r > 0, cy + r < ny - 1};
        for (int e = 0; e < 4; ++e)
            if (more[e] && (!bounded || side[e] < bound)) {
                bound = side[e];
                bounded = true;
            }
        if (!bounded || (found == k && best_d[k - 1] <= bound * bound && bound > 0)) break;
    }
}

// e[p] = mean over the listed neighbours idx[p, :] and channels of |v[neighbour] - v[p]|.
template <typename V>
RESAMPLE_HD void contrast_one(long long p, const V* values, const long long* idx, int n_ch,
                              int n_nb, double* e) {
    double total = 0;
    for (int j = 0; j < n_nb; ++j) {
        long long q = idx[p * n_nb + j];
        for (int ch = 0; ch < n_ch; ++ch)
            total += fabs((double)values[q * n_ch + ch] - (double)values[p * n_ch + ch]);
    }
    e[p] = total / ((double)n_nb * n_ch);
}
