// The k nearest points through a k-d tree, on the CPU (engine.cpp binds it as kd_knn): for
// points that crowd a grid's cells.  Compiled once, with the baseline instructions.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "../common/nearest.h"

// ---- k nearest points through a k-d tree: for points that crowd a grid's cells (coincident
// or clustered), where the grid's search (common/nearest.h's knn_one) would scan a crowded cell
// for every query.  Built in O(N log N) by median splits along the wider side (nth_element),
// leaves of at most KD_LEAF points; a query descends to its leaf and visits the far side of a
// split only while the split's plane is strictly nearer than the k-th best, so coincident
// points cost O(log N) a query.  Ties: in the order the leaves are visited.
namespace kd {

constexpr long long KD_LEAF = 16;

struct Tree {
    const double* xy;
    std::vector<long long> perm;      // the points, leaf by leaf
    std::vector<double> split;        // per node (heap numbering from 1): split coordinate
    std::vector<unsigned char> axis;  // and its axis (0: x, 1: y)
};

static void build(Tree& t, long long node, long long lo, long long hi) {
    if (hi - lo <= KD_LEAF) return;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (long long s = lo; s < hi; ++s) {
        const double* p = t.xy + 2 * t.perm[s];
        x0 = std::min(x0, p[0]); x1 = std::max(x1, p[0]);
        y0 = std::min(y0, p[1]); y1 = std::max(y1, p[1]);
    }
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

static void search(const Tree& t, long long node, long long lo, long long hi, double qx,
                   double qy, long long self, int k, int& found, double* best_d,
                   long long* best_i) {
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
    double off = (t.axis[node] == 0 ? qx : qy) - t.split[node];
    bool left_first = off < 0;
    if (left_first) search(t, 2 * node, lo, mid, qx, qy, self, k, found, best_d, best_i);
    else search(t, 2 * node + 1, mid, hi, qx, qy, self, k, found, best_d, best_i);
    if (found == k && !(off * off < best_d[k - 1])) return;
    if (left_first) search(t, 2 * node + 1, mid, hi, qx, qy, self, k, found, best_d, best_i);
    else search(t, 2 * node, lo, mid, qx, qy, self, k, found, best_d, best_i);
}

}  // namespace kd
