// The k nearest points through a k-d tree, on the CPU (engine.cpp binds it as kd_knn): for
// points that crowd a grid's cells.  Compiled once, with the baseline instructions.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "../common/nearest.h"

// ---- k nearest points through a k-d tree: for points that crowd a grid's cells (coincident
// or clustered), where the grid's search (common/nearest.h's knn_one) would scan a crowded cell
// for every query, and for the nearest point of every hole, whatever the layout.  Built in
// O(N log N) by median splits along the wider side (nth_element), leaves of at most KD_LEAF
// points.  A query descends to its leaf first and visits a far side only while the cell
// beyond the split is nearer than the k-th best: the squared distance from the query to each
// cell is kept incrementally, an axis's offset at a time (Arya and Mount's incremental
// distance, as scipy's cKDTree and nanoflann keep it), so that a query far from a tight
// cluster prunes its cells too, where the distance to the split's plane alone would not
// (1M queries 700 pixels from 40k clustered points: 23 s with the plane alone).  Coincident
// points cost O(log N) a query.  Ties: in the order the leaves are visited.
namespace kd {

constexpr long long KD_LEAF = 16;

struct Tree {
    const double* xy;
    std::vector<long long> perm;      // the points, leaf by leaf
    std::vector<double> split;        // per node (heap numbering from 1): split coordinate
    std::vector<unsigned char> axis;  // and its axis (0: x, 1: y)
    double box[4] = {0.0, 0.0, 0.0, 0.0};   // the points' bounds: x0, x1, y0, y1
};

static void build(Tree& t, long long node, long long lo, long long hi) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (long long s = lo; s < hi; ++s) {
        const double* p = t.xy + 2 * t.perm[s];
        x0 = std::min(x0, p[0]); x1 = std::max(x1, p[0]);
        y0 = std::min(y0, p[1]); y1 = std::max(y1, p[1]);
    }
    if (node == 1) {
        t.box[0] = x0; t.box[1] = x1; t.box[2] = y0; t.box[3] = y1;
    }
    if (hi - lo <= KD_LEAF) return;
    int a = (x1 - x0) >= (y1 - y0) ? 0 : 1;
    long long mid = lo + (hi - lo) / 2;
    const double* xy = t.xy;
    std::nth_element(t.perm.begin() + lo, t.perm.begin() + mid, t.perm.begin() + hi,
                     [xy, a](long long u, long long v) { return xy[2 * u + a] < xy[2 * v + a]; });
    t.split[node] = xy[2 * t.perm[mid] + a];
    t.axis[node] = (unsigned char)a;
    build(t, 2 * node, lo, mid);
    build(t, 2 * node + 1, mid, hi);
}

// Query (qx, qy) in the cell of ``node`` (the points perm[lo:hi]), at squared distance ``rd``
// from it, ``off`` its offset from the cell along each axis (0 where it lies within).
static void search(const Tree& t, long long node, long long lo, long long hi, double qx,
                   double qy, long long self, int k, int& found, double* best_d,
                   long long* best_i, double rd, double* off) {
    if (hi - lo <= KD_LEAF) {
        for (long long s = lo; s < hi; ++s) {
            long long i = t.perm[s];
            if (i == self) continue;
            double dx = t.xy[2 * i] - qx, dy = t.xy[2 * i + 1] - qy;
            knn_insert(dx * dx + dy * dy, i, k, &found, best_d, best_i);   // common/nearest.h
        }
        return;
    }
    long long mid = lo + (hi - lo) / 2;
    int a = t.axis[node];
    double diff = (a == 0 ? qx : qy) - t.split[node];
    bool left_first = diff < 0;
    if (left_first) search(t, 2 * node, lo, mid, qx, qy, self, k, found, best_d, best_i, rd, off);
    else search(t, 2 * node + 1, mid, hi, qx, qy, self, k, found, best_d, best_i, rd, off);
    // the far cell: the query is beyond its split along this axis
    double before = off[a], far_rd = rd - before * before + diff * diff;
    if (found == k && !(far_rd < best_d[k - 1])) return;
    off[a] = std::fabs(diff);
    if (left_first) search(t, 2 * node + 1, mid, hi, qx, qy, self, k, found, best_d, best_i, far_rd, off);
    else search(t, 2 * node, lo, mid, qx, qy, self, k, found, best_d, best_i, far_rd, off);
    off[a] = before;
}

// The k nearest points of (qx, qy) (skipping point ``self``): squared distances and indices
// into best_d, best_i, ascending; ``found`` of them.
static void nearest(const Tree& t, long long n, double qx, double qy, long long self, int k,
                    int& found, double* best_d, long long* best_i) {
    double off[2] = {qx < t.box[0] ? t.box[0] - qx : (qx > t.box[1] ? qx - t.box[1] : 0.0),
                     qy < t.box[2] ? t.box[2] - qy : (qy > t.box[3] ? qy - t.box[3] : 0.0)};
    search(t, 1, 0, n, qx, qy, self, k, found, best_d, best_i,
           off[0] * off[0] + off[1] * off[1], off);
}

}  // namespace kd
