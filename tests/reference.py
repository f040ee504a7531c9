"""Slow, obvious float64 references, written from docs/conventions.md without the package's tap tables.

Everything here loops over output samples in plain Python; keep the inputs small.
"""

import math

import numpy as np

# --- kernels, written again from their definitions -------------------------------------------


def k_nearest(u):
    return 1.0 if -0.5 < u <= 0.5 else 0.0


def k_bilinear(u):
    return max(0.0, 1.0 - abs(u))


def k_bicubic(u, a=-0.5):
    u = abs(u)
    if u < 1:
        return (a + 2) * u**3 - (a + 3) * u**2 + 1
    if u < 2:
        return a * u**3 - 5 * a * u**2 + 8 * a * u - 4 * a
    return 0.0


def k_lanczos(u):
    if u == 0:
        return 1.0
    if abs(u) >= 3 or u == round(u):
        return 0.0
    pu = math.pi * u
    return 3 * math.sin(pu) * math.sin(pu / 3) / (pu * pu)


def k_gri(u):
    u = abs(u)
    if u <= 0.5:
        return 1 - 3 * u**2 + 4 * u**4
    if u <= 1.5:
        v = 1 - u
        return v / 2 + 1.5 * v**2 - 2 * v**4
    return 0.0


def k_mitchell(u, b=1 / 3, c=1 / 3):
    """Mitchell and Netravali's cubic family (SIGGRAPH 1988), B = C = 1/3 by default."""
    u = abs(u)
    if u < 1:
        return ((12 - 9 * b - 6 * c) * u**3 + (-18 + 12 * b + 6 * c) * u**2 + (6 - 2 * b)) / 6
    if u < 2:
        return ((-b - 6 * c) * u**3 + (6 * b + 30 * c) * u**2 + (-12 * b - 48 * c) * u
                + (8 * b + 24 * c)) / 6
    return 0.0


KERNELS = {"nearest": (k_nearest, 0.5), "box": (k_nearest, 0.5), "mitchell": (k_mitchell, 2.0),
           "bilinear": (k_bilinear, 1.0),
           "bicubic": (k_bicubic, 2.0), "lanczos": (k_lanczos, 3.0), "gri": (k_gri, 1.5),
           "sharpcubic": (lambda u: k_bicubic(u, -0.75), 2.0)}

# --- boundaries -------------------------------------------------------------------------------


def boundary_value(line, i, mode, fill):
    """The value of sample ``i`` of a 1-D float64 ``line`` (any integer i) under ``mode``."""
    n = len(line)
    if 0 <= i < n:
        return line[i]
    if mode == "constant":
        return fill
    if mode == "edge":
        return line[min(max(i, 0), n - 1)]
    if mode == "wrap":
        return line[i % n]
    if mode == "reflect":                 # cba|abcd|dcb
        while not 0 <= i < n:
            i = -1 - i if i < 0 else 2 * n - 1 - i
        return line[i]
    if mode == "mirror":                  # dcb|abcd|cba
        if n == 1:
            return line[0]
        while not 0 <= i < n:
            i = -i if i < 0 else 2 * (n - 1) - i
        return line[i]
    if mode == "extrapolate":
        if n == 1:
            return line[0]
        if i < 0:
            return line[0] + i * (line[1] - line[0])
        return line[n - 1] + (i - n + 1) * (line[n - 1] - line[n - 2])
    raise ValueError(mode)


# --- resampling -------------------------------------------------------------------------------


def positions(n_in, n_out, align, nudge=0.0):
    """Output positions in input pixels; ``nudge`` shifts them (to break nearest's exact ties)."""
    if align == "centers":
        return [(j + 0.5) * n_in / n_out - 0.5 + nudge for j in range(n_out)], n_in / n_out
    if n_out == 1:
        return [0.0 + nudge], float(n_in)
    step = (n_in - 1) / (n_out - 1)
    return [j * step + nudge for j in range(n_out)], step


def interpolate_line(line, x, method, stretch, mode, fill):
    """Value at position ``x`` of a 1-D line: normalised sum of K((i - x) / stretch) * v(i)."""
    k, support = KERNELS[method]
    reach = support * stretch
    total = 0.0
    acc = 0.0
    for i in range(math.floor(x - reach) - 1, math.ceil(x + reach) + 2):
        w = k((i - x) / stretch)
        if w != 0.0 and mode == "truncate" and not 0 <= i < len(line):
            continue                  # dropped: the weights of the taps inside are renormalised
        if w != 0.0:
            total += w
            acc += w * boundary_value(line, i, mode, fill)
    if mode == "truncate" and total == 0.0:
        return fill                   # no tap inside the line
    return acc / total


def resize_axis(a, n_out, axis, method, align, mode, fill, antialias, nudge=0.0):
    a = np.moveaxis(np.asarray(a, np.float64), axis, 0)
    xs, step = positions(a.shape[0], n_out, align, nudge)
    stretch = max(1.0, step) if antialias and method != "nearest" else 1.0
    out = np.empty((n_out,) + a.shape[1:])
    flat_in = a.reshape(a.shape[0], -1)
    flat_out = out.reshape(n_out, -1)
    for c in range(flat_in.shape[1]):
        line = flat_in[:, c]
        for j, x in enumerate(xs):
            flat_out[j, c] = interpolate_line(line, x, method, stretch, mode, fill)
    return np.moveaxis(out, 0, axis)


def ref_resize(img, shape, method="bilinear", align="centers", boundary="truncate", fill=0.0,
               antialias=True, nudge=0.0):
    """float64 result of resizing ``img`` (H, W[, C]) to ``shape`` = (H, W).  The default
    boundary is resample.resize's, truncate (it was edge before the API took the command's).

    ``nudge`` moves every sample position by that many input pixels (a number, or a pair for
    rows and columns): ``nearest`` breaks an exact tie between two pixels either way (Pillow's
    float accumulation decides), so its tests accept the result with the positions nudged
    slightly down or up, along each axis.
    """
    rows, cols = nudge if isinstance(nudge, tuple) else (nudge, nudge)
    out = resize_axis(img, shape[0], 0, method, align, boundary, fill, antialias, rows)
    return resize_axis(out, shape[1], 1, method, align, boundary, fill, antialias, cols)


def ref_sample(img, xy, method="bilinear", boundary="edge", fill=0.0):
    """float64 samples of ``img`` (H, W[, C]) at points ``xy`` (N, 2) = (x, y) in pixels."""
    a = np.asarray(img, np.float64)
    a3 = a[:, :, None] if a.ndim == 2 else a
    out = np.empty((len(xy), a3.shape[2]))
    for p, (x, y) in enumerate(xy):
        rows = np.array([[interpolate_line(a3[r, :, c], x, method, 1.0, boundary, fill)
                          for c in range(a3.shape[2])] for r in range(a3.shape[0])])
        out[p] = [interpolate_line(rows[:, c], y, method, 1.0, boundary, fill)
                  for c in range(a3.shape[2])]
    return out[:, 0] if a.ndim == 2 else out


def ref_through_points(xy, values, out, reached, sx, sy, cutoff, width):
    """float64 reference of resample.ops.gmm.through_points, pixel by pixel, point by point.
    Twice: each point's residual v_i - f(x_i), f sampled bilinearly (edge boundary) over the
    pixels where ``reached`` is 1 only (weights renormalised over them; the residual 0 where
    none is),
    is spread, first by Gaussians of sigma s_i = width sqrt(sx_i sy_i) and peak 1 (within
    cutoff s_i), then by the hats t_i(q) = max(0, 1 - |qx - x_i|) max(0, 1 - |qy - y_i|),
    divided by max(1, the weights' sum), into the reached pixels."""
    out = np.asarray(out, np.float64)
    h, w, _ = out.shape
    s = width * np.sqrt(np.asarray(sx, float) * np.asarray(sy, float))

    def gaussian(i, r, c):
        d2 = (c - xy[i][0]) ** 2 + (r - xy[i][1]) ** 2
        return np.exp(-d2 / (2 * s[i] ** 2)) if d2 <= (cutoff * s[i]) ** 2 else 0.0

    def hat(i, r, c):
        return max(0.0, 1 - abs(c - xy[i][0])) * max(0.0, 1 - abs(r - xy[i][1]))

    for weight in (gaussian, hat):
        seen = ref_sample(out * reached[..., None], xy)
        share = ref_sample(reached, xy)
        seen = np.where(share[:, None] > 0, seen / np.where(share > 0, share, 1)[:, None], 0)
        residual = np.where(share[:, None] > 0,
                            np.asarray(values, np.float64).reshape(len(xy), -1) - seen, 0)
        result = out.copy()
        for r in range(h):
            for c in range(w):
                if not reached[r, c]:
                    continue
                weights = [weight(i, r, c) for i in range(len(xy))]
                spread = sum(t * residual[i] for i, t in enumerate(weights))
                result[r, c] += spread / max(1.0, sum(weights))
        out = result
    return out


def round_to(x, dtype):
    """Round half up and clip into an integer dtype, as the package promises."""
    info = np.iinfo(dtype)
    return np.clip(np.floor(x + 0.5), info.min, info.max).astype(dtype)


# --- Gaussian mixture (gmm) -------------------------------------------------------------------


def ref_gmm(xy, values, shape, sx, sy, cutoff=3.0, holes="nearest", fill=0.0, theta=None):
    """Brute force O(N x H x W) float64: (image (H, W, C), Z (H, W)), straight from docs/conventions.md;
    ``theta`` rotates each Gaussian (steered): r2 = d^T R diag(1/sx^2, 1/sy^2) R^T d."""
    xy = np.asarray(xy, np.float64)
    v = np.asarray(values, np.float64).reshape(len(xy), -1)
    h, w = shape
    qy, qx = np.mgrid[0:h, 0:w].astype(np.float64)
    z = np.zeros((h, w))
    acc = np.zeros((h, w, v.shape[1]))
    for i in range(len(xy)):
        d = np.stack([qx - xy[i, 0], qy - xy[i, 1]], axis=-1)            # (H, W, 2)
        t = 0.0 if theta is None else theta[i]
        rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        inverse = rot @ np.diag([1 / sx[i] ** 2, 1 / sy[i] ** 2]) @ rot.T
        r2 = np.einsum("hwi,ij,hwj->hw", d, inverse, d)
        wi = np.where(r2 <= cutoff**2, np.exp(-r2 / 2) / (2 * np.pi * sx[i] * sy[i]), 0.0)
        z += wi
        acc += wi[..., None] * v[i]
    out = np.empty_like(acc)
    covered = z > 0
    out[covered] = acc[covered] / z[covered][:, None]
    for r, c in zip(*np.nonzero(~covered)):
        if holes == "nearest":
            d2 = (xy[:, 0] - c) ** 2 + (xy[:, 1] - r) ** 2
            out[r, c] = v[int(np.argmin(d2))]
        else:
            out[r, c] = fill
    return out, z


def ref_local_linear(xy, values, shape, sx, sy, cutoff, width, ridge, clip, theta=None,
                     steer=1.0):
    """Order 1 by brute force, pixel by pixel, in float64: the weighted least-squares plane
    v ~ c + g . (p_i - q) over the points whose Gaussians reach q, ``width`` times the
    geometric mean of (sx, sy), elongated by sqrt(sx / sy) ** ``steer`` (the same rotation)
    (the weights of :func:`ref_gmm`), a ridge of ``ridge`` x trace of the points' weighted
    covariance on g, c clipped to the weighted mean of the values +- ``clip`` weighted
    standard deviations; then order 0's mean m (at the given sigmas) moved towards c by R2^2,
    R2 = g . cov(p, v) / var(v) clipped to [0, 1] (0 where var(v) = 0).  (H, W, C); where no
    point reaches q at the given sigmas: NaN."""
    xy = np.asarray(xy, np.float64)
    v = np.asarray(values, np.float64).reshape(len(xy), -1)
    h, w = shape

    def weights(d, scale, power):
        wi = np.empty(len(xy))
        for i in range(len(xy)):
            t = 0.0 if theta is None else theta[i]
            rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
            e = np.sqrt(sx[i] / sy[i]) ** power
            ax, ay = np.sqrt(sx[i] * sy[i]) * scale * e, np.sqrt(sx[i] * sy[i]) * scale / e
            r2 = d[i] @ rot @ np.diag([1 / ax ** 2, 1 / ay ** 2]) @ rot.T @ d[i]
            wi[i] = np.exp(-r2 / 2) / (2 * np.pi * ax * ay) if r2 <= cutoff**2 else 0.0
        return wi

    out = np.full((h, w, v.shape[1]), np.nan)
    for r in range(h):
        for c in range(w):
            d = xy - [c, r]
            w0 = weights(d, 1.0, 1.0)
            if w0.sum() <= 0:
                continue
            mean = (w0 / w0.sum()) @ v
            p = weights(d, width, steer)
            p = p / p.sum()
            mean_d, mean_v = p @ d, p @ v
            cov = (d - mean_d).T @ ((d - mean_d) * p[:, None])
            cross = (d - mean_d).T @ ((v - mean_v) * p[:, None])              # (2, C)
            g = np.linalg.solve(cov + (ridge * np.trace(cov) + 1e-12) * np.eye(2), cross)
            var = p @ (v - mean_v) ** 2
            spread = clip * np.sqrt(var)
            plane = np.clip(mean_v - mean_d @ g, mean_v - spread, mean_v + spread)
            explained = np.where(var > 0, np.clip((g * cross).sum(0) / np.where(var > 0, var, 1),
                                                  0, 1), 0.0)
            out[r, c] = mean + explained ** 2 * (plane - mean)
    return out


def ref_auto_sigma(xy, values, k, factor, contrast, m):
    """sigma="auto" by brute force: factor x (distance to the k-th nearest other point) /
    (1 + contrast x e_i / mean(e)), at least 0.5, where e_i is the mean |v_j - v_i| over the m
    nearest other points j and the channels (with fewer other points, all of them)."""
    xy = np.asarray(xy, np.float64)
    k, m = min(k, len(xy) - 1), min(m, len(xy) - 1)
    v = np.asarray(values, np.float64).reshape(len(xy), -1)
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    order = np.argsort(d2, axis=1, kind="stable")
    d = np.sqrt(np.take_along_axis(d2, order[:, k - 1:k], axis=1)[:, 0])
    near = order[:, :m]
    e = np.abs(v[near] - v[:, None, :]).mean(axis=(1, 2))
    shrink = 1 + contrast * e / e.mean() if e.mean() > 0 else 1.0
    return np.maximum(factor * d / shrink, 0.5)


def ref_nearest_distance(xy, shape):
    """(H, W): the distance from each pixel centre to its nearest point, by brute force."""
    xy = np.asarray(xy, np.float64)
    qy, qx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    d2 = (qx[..., None] - xy[:, 0]) ** 2 + (qy[..., None] - xy[:, 1]) ** 2
    return np.sqrt(d2.min(axis=-1))


def check_nearest_holes(out, z, xy, values, slack=0.0):
    """Each hole (Z = 0) of ``out`` holds the values of a point at most ``slack`` pixels
    farther from the hole's centre than the nearest point (0: a nearest point, as
    resample.ops.gmm.hole_nearest finds it; of points equally near, any)."""
    xy = np.asarray(xy, np.float64)
    v = np.asarray(values, np.float64).reshape(len(xy), -1)
    best = ref_nearest_distance(xy, z.shape)
    flat = out.reshape(z.shape + (-1,))
    for r, c in zip(*np.nonzero(z <= 0)):
        d = np.hypot(xy[:, 0] - c, xy[:, 1] - r)
        ok = np.all(np.isclose(v, flat[r, c], rtol=1e-5, atol=1e-5), axis=1)
        assert ok.any() and d[ok].min() <= best[r, c] + slack + 1e-9, (r, c)


def ref_steered_sigma(xy, values, size, idx, d2, alpha, max_stretch):
    """sigma="steered" in float64 NumPy, from docs/conventions.md's steering idea as resample/ops/gmm.py
    documents it: (N, 3) as (sx, sy, theta), for each point's neighbours idx, d2 (N, k) and its
    isotropic size (N,)."""
    v = np.asarray(values, np.float64).reshape(len(xy), -1).mean(axis=1)
    dx = xy[idx] - xy[:, None, :]
    w = 1.0 / (1e-6 + d2)
    normal = np.einsum("nk,nki,nkj->nij", w, dx, dx) + 1e-9 * np.eye(2)
    rhs = np.einsum("nk,nki,nk->ni", w, dx, v[idx] - v[:, None])
    gradient = np.linalg.solve(normal, rhs[..., None])[..., 0]
    tensor = np.einsum("ni,nj->nij", gradient, gradient)
    tensor += np.einsum("nki,nkj->nij", gradient[idx], gradient[idx])
    a, b, d = tensor[:, 0, 0], tensor[:, 0, 1], tensor[:, 1, 1]
    half, radius = (a + d) / 2, np.hypot((a - d) / 2, b)
    l1, l2 = half + radius, np.maximum(half - radius, 0.0)
    eps = 1e-3 * np.median(l1) + 1e-12
    stretch = np.clip(((l1 + eps) / (l2 + eps)) ** (alpha / 2), 1.0, max_stretch)
    return np.column_stack([size * stretch, size / stretch,
                            0.5 * np.arctan2(2 * b, a - d) + np.pi / 2])
