"""The CUDA kernels compiled for an H100 (sm_90) without a GPU, as run time compiles them: by
NVRTC (the library CuPy calls, from the nvidia-cuda-nvrtc wheel, which needs no GPU) with
CuPy's options and resample.engines.cuda.NVRTC_OPTIONS, and by nvcc.  ptxas's report of each kernel's
registers and spills is held to a budget (RESOURCES): no spills, no kernel past its budget
with fewer threads an SM, and never half the occupancy: a change that spills or cuts
occupancy fails here, before any GPU sees it (and one that is worth it updates the budget).
The tiled kernel's performance model is held to the instructions NVRTC makes of its loops
(disassembled by nvdisasm)."""

import ctypes
import glob
import os
import re
import shutil
import subprocess

import pytest

from resample.engines import cuda, gpu

pytestmark = pytest.mark.slow      # (see pyproject.toml's markers)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNELS = os.path.join(ROOT, "kernels")
ARCH = "sm_90"
# What cupy.RawModule adds to the caller's options (CuPy 13-14, NVRTC backend), after them:
# compile_with_cache appends -ftz=true.
CUPY_OPTIONS = ("--device-as-default-execution-space", "-ftz=true")


def runtime_options(*extra):
    """The options NVRTC gets at run time: ours, the include folder and ``extra``, then
    CuPy's appended (where a flag is repeated the last wins)."""
    return cuda.NVRTC_OPTIONS + (f"-I{KERNELS}",) + extra + CUPY_OPTIONS

# Registers a thread of each entry point uses today (sm_90, NVRTC 12.9).  A kernel may grow
# within the same occupancy (see occupancy()); past it, or with any spill, the test fails:
# look at the change, then update the number here on purpose.
RESOURCES = {
    "cols_u8_f32": 40, "cols_f32_u8": 48, "cols_u8_u8": 40, "cols_u16_f32": 40,
    "cols_f32_u16": 48, "cols_u16_u16": 40, "cols_f32_f32": 48, "cols_f64_f64": 64,
    "rows_u8_f32": 40, "rows_f32_u8": 40, "rows_u8_u8": 40, "rows_u16_f32": 40,
    "rows_f32_u16": 40, "rows_u16_u16": 40, "rows_f32_f32": 40, "rows_f64_f64": 40,
    # (the gathers and column passes sum with fused multiply-adds: left at 48 or 40
    # registers some spilled; now at most 64, __launch_bounds__(256, 4))
    "gather_u8_f32": 56, "gather_f32_u8": 60, "gather_u8_u8": 56, "gather_u16_f32": 56,
    "gather_f32_u16": 60, "gather_u16_u16": 56, "gather_f32_f32": 60, "gather_f64_f64": 80,
    # (the global splat, now only for points wider than a 32x32 tile, takes up to 128
    # registers: __launch_bounds__(256, 2); held to 64 it spilled.  The binned one, its
    # offsets in a tile 32-bit, fits 80: 3 blocks an SM; both hold a footprint's column
    # terms in local memory)
    "gmm_splat_f32": 80, "gmm_splat_f64": 80, "gmm_splat_tiles_f32": 80,
    "gmm_splat_tiles_f64": 80, "gmm_bin": 32, "gmm_normalise_f32": 26,
    "gmm_normalise_f64": 28, "gmm_normalise_packed_f32": 26, "gmm_normalise_packed_f64": 28,
    "gmm_vjp_f64": 96, "knn_grid": 48, "contrast_f32": 40,
    # (order 1's per-pixel solve and its gradient: float64, a pixel a thread)
    "gmm_plane_f64": 60, "gmm_plane_vjp_f64": 91,
    "contrast_f64": 38, "taps_rows": 56,
    # (point sampling's taps with their slopes, for the points' gradient: a position a
    # thread, its window's 16 weight-slope pairs in local memory)
    "taps_slopes_rows": 78,
    # (point sampling's gradient, a point a thread: the image's by atomic adds)
    "gather_vjp_f32": 64, "gather_vjp_f64": 63,
    # (blocks of 128 threads; tiled_fast's unrolled sums of 8/16-bit images, two rows in two
    # columns a thread, spill at 80: 96, 5 blocks an SM)
    "tiled_u8_u8": 96, "tiled_u16_u16": 96, "tiled_f32_f32": 64, "tiled_f64_f64": 118,
}
BLOCK_THREADS = 256
TILED_THREADS = 128             # the tiled_* kernels' blocks (resample.cu)


def occupancy(registers, threads=BLOCK_THREADS):
    """Resident threads per SM of an sm_90 GPU for a kernel of ``registers`` per thread in
    blocks of ``threads``: 64K registers an SM, allocated 256 a warp at a time (8 a thread),
    at most 2048 threads and 32 blocks."""
    per_warp = -(-max(registers, 1) // 8) * 8 * 32
    warps = threads // 32
    blocks = min(32, 65536 // (per_warp * warps), 2048 // threads)
    return blocks * threads


def parse_resources(log):
    """{kernel: (registers, stack bytes, spill store bytes, spill load bytes)} from ptxas -v."""
    found = {}
    for m in re.finditer(r"Compiling entry function '(\w+)'.*?"
                         r"(\d+) bytes stack frame, (\d+) bytes spill stores, "
                         r"(\d+) bytes spill loads\s*\n.*?Used (\d+) registers", log, re.S):
        name, stack, spill_st, spill_ld, regs = m.groups()
        found[name] = (int(regs), int(stack), int(spill_st), int(spill_ld))
    return found


def check_resources(found):
    assert set(found) == set(RESOURCES), (
        f"entry points without a budget: {sorted(set(found) - set(RESOURCES))}; "
        f"budgets of no entry point: {sorted(set(RESOURCES) - set(found))}")
    for name, (regs, stack, spill_st, spill_ld) in found.items():
        assert spill_st == spill_ld == 0, f"{name} spills ({spill_st}/{spill_ld} bytes)"
        threads = TILED_THREADS if name.startswith("tiled_") else BLOCK_THREADS
        have, budget = occupancy(regs, threads), occupancy(RESOURCES[name], threads)
        assert 2 * have > budget, (
            f"{name}: {regs} registers fit {have} threads an SM, half or less of "
            f"the {budget} of its budget ({RESOURCES[name]})")
        assert regs <= RESOURCES[name] or have == budget, (
            f"{name}: {regs} registers, more than its budget of {RESOURCES[name]} and fewer "
            "threads an SM: if that is the price of less traffic, update RESOURCES")


def _nvrtc():
    try:
        import nvidia.cuda_nvrtc as wheel
    except ImportError:
        pytest.skip("the NVRTC wheel is not installed (pip install nvidia-cuda-nvrtc-cu12)")
    paths = sorted(glob.glob(os.path.join(list(wheel.__path__)[0], "lib", "libnvrtc.so.*")))
    if not paths:
        pytest.skip("no libnvrtc in the NVRTC wheel")
    return ctypes.CDLL(paths[0])


def nvrtc_compile(lib, source, options, cubin=None, name=b"resample.cu"):
    """``(ok, log)`` of compiling ``source`` (bytes; the file ``name``) with NVRTC and
    ``options``; the machine code (a cubin, for a real -arch) written to the path ``cubin``
    if given."""
    prog = ctypes.c_void_p()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), source, name, 0, None, None) == 0
    try:
        opts = [o.encode() for o in options]
        ok = lib.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
        size = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetProgramLog(prog, log)
        if ok == 0 and cubin is not None:
            lib.nvrtcGetCUBINSize(prog, ctypes.byref(size))
            code = ctypes.create_string_buffer(size.value)
            assert lib.nvrtcGetCUBIN(prog, code) == 0
            with open(cubin, "wb") as f:
                f.write(code.raw)
        return ok == 0, log.value.decode(errors="replace")
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))


def test_nvrtc_compiles_every_kernel_as_run_time_does_within_budget():
    lib = _nvrtc()
    with open(cuda.kernel_path(), "rb") as f:
        source = f.read()
    options = runtime_options(f"-arch={ARCH}", "--ptxas-options=-v")
    ok, log = nvrtc_compile(lib, source, options)
    assert ok, log[-3000:]
    assert "error" not in log.lower()
    check_resources(parse_resources(log))


def test_nvcc_compiles_every_kernel_within_budget(tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed")
    done = subprocess.run([nvcc, f"-arch={ARCH}", "-std=c++17", "-cubin", "-Xptxas", "-v",
                           "-o", str(tmp_path / "out.cubin"), cuda.kernel_path()],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    found = parse_resources(done.stderr)
    for name, (regs, _, spill_st, spill_ld) in found.items():      # (another compiler:
        assert spill_st == spill_ld == 0, name                      # no spills, and the
        threads = TILED_THREADS if name.startswith("tiled_") else BLOCK_THREADS  # same
        assert occupancy(regs, threads) >= occupancy(RESOURCES[name], threads) // 2, (  # order)
            name, regs)
    assert set(found) == set(RESOURCES)


def test_our_options_repeat_none_of_cupys():
    """CuPy appends its options after ours: a flag of ours that it repeats would be
    overridden where NVRTC takes the last one (12.5 on) and refused outright by NVRTC 12.0
    to 12.4 ("defined more than once": the GPU would never be chosen)."""
    ours = {o.split("=")[0].lstrip("-") for o in cuda.NVRTC_OPTIONS}
    theirs = {o.split("=")[0].lstrip("-") for o in CUPY_OPTIONS}
    assert not ours & theirs


def test_occupancy_model():
    assert occupancy(32) == 2048 and occupancy(40) == 1536 and occupancy(64) == 1024
    assert occupancy(72) == 768 and occupancy(128) == 512 and occupancy(255) == 256


def test_a_gpu_that_cannot_compile_is_not_chosen(monkeypatch):
    """Without NVRTC the kernels do not compile: the reason is one line naming the fix, and
    it is found once per device."""
    import sys
    import types

    class Module:
        def compile(self):
            raise RuntimeError("CuPy failed to load libnvrtc.so.12: OSError: libnvrtc.so.12: "
                               "cannot open shared object file: No such file or directory")

    class Device:
        def __init__(self, n):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(Device=Device))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(cuda, "cupy_backend", lambda: types.SimpleNamespace(module=Module()))
    cuda.compile_reason.cache_clear()
    try:
        why = cuda.compile_reason(0)
        assert "NVRTC" in why and "resample-images[gpu]" in why and "\n" not in why
        assert cuda.compile_reason.cache_info().currsize == 1
    finally:
        cuda.compile_reason.cache_clear()


# ---- The tiled kernel's model (resample.engines.gpu.tiled_fast_times) counts the instructions of
# tiled_fast's loops with small formulas (fast_x_item, fast_y_pair).  Here they are held to
# the machine code NVRTC makes of those loops, disassembled by nvdisasm (the
# nvidia-cuda-nvdisasm wheel, in the test extra; no GPU needed), within a quarter.
PROBES = """
#include "resample.cu"
#define X_PROBE(T, NAME, NC, N)                                                              \\
extern "C" __global__ void x_##NAME##_##NC##_##N(const int* index, const float* weight,     \\
                                                  int rows, int nc) {                       \\
    extern __shared__ __align__(16) unsigned char sm[];                                     \\
    x_rows<T, NC, N>(sm, nc * 16, rows, threadIdx.x / 32, index, weight, 0,                 \\
                     sm + 16384 + threadIdx.x % 32 * 16);                                   \\
}
#define Y_PROBE(NC, N, S)                                                                    \\
extern "C" __global__ void y_##NC##_##N##_##S(unsigned char* dst, long long cols, int n) {   \\
    extern __shared__ __align__(16) unsigned char sm[];                                     \\
    const TileTap* taps = (const TileTap*)(sm + 20480);                                     \\
    unsigned char* q = dst + threadIdx.x * NC;                                              \\
    for (int i = threadIdx.x / 16; i < n; i += 8, q += 16 * cols * NC) {                    \\
        float acc[2][2][NC];                                                                \\
        y_pair<NC, N, S>(sm + threadIdx.x % 16 * 16, taps + 16 * i, taps + 16 * i + 8, acc);\\
        store_pixel<unsigned char, NC>(q, acc[0][0]);                                       \\
        store_pixel<unsigned char, NC>(q + cols * NC, acc[0][1]);                           \\
        store_pixel<unsigned char, NC>(q + 16 * NC, acc[1][0]);                             \\
        store_pixel<unsigned char, NC>(q + cols * NC + 16 * NC, acc[1][1]);                 \\
    }                                                                                       \\
}
"""
X_CASES = [("u8", "unsigned char", nc, n) for nc, n in ((1, 2), (3, 4), (4, 6), (3, 8))] + [
    ("u16", "unsigned short", 2, 3)]
Y_CASES = [(3, 2, 1), (3, 4, 0), (3, 4, 1), (4, 6, 1)]


def _nvdisasm():
    found = shutil.which("nvdisasm")
    try:
        import nvidia

        for folder in nvidia.__path__:
            found = found or next(iter(glob.glob(os.path.join(folder, "cu1*", "bin",
                                                              "nvdisasm"))), None)
    except ImportError:
        pass
    if found is None:
        pytest.skip("nvdisasm is not installed (pip install nvidia-cuda-nvdisasm)")
    return found


def loop_sizes(sass):
    """{function: (instructions of its longest loop, the loop's instructions)} from the
    text nvdisasm prints (branch targets as labels)."""
    sizes = {}
    for part in re.split(r"\n\s*\.text\.", sass)[1:]:
        name = part.split(":", 1)[0]
        labels, code, pending = {}, [], []
        for line in part.splitlines():
            label = re.match(r"\s*(\.L_x_\d+):", line)
            if label:
                pending.append(label.group(1))
                continue
            m = re.match(r"\s*/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;", line)
            if m:
                address = int(m.group(1), 16)
                for label_name in pending:
                    labels[label_name] = address
                pending = []
                code.append((address, m.group(2)))
        best = (0, [])
        for address, text in code:
            target = re.search(r"BRA\s+`\((\.L_x_\d+)\)", text)
            if target and labels.get(target.group(1), address + 1) <= address:
                body = [t for a, t in code if labels[target.group(1)] <= a <= address]
                best = max(best, (len(body), body), key=lambda b: b[0])
        sizes[name] = best
    return sizes


def test_the_tiled_model_counts_the_compiled_instructions(tmp_path):
    lib, nvdisasm = _nvrtc(), _nvdisasm()
    source = PROBES + "".join(f"X_PROBE({t}, {name}, {nc}, {n})\n"
                              for name, t, nc, n in X_CASES)
    source += "".join(f"Y_PROBE({nc}, {n}, {s})\n" for nc, n, s in Y_CASES)
    options = runtime_options(f"-arch={ARCH}")
    ok, log = nvrtc_compile(lib, source.encode(), options, cubin=tmp_path / "probes.cubin",
                            name=b"probes.cu")
    assert ok, log[-3000:]
    sass = subprocess.run([nvdisasm, "-c", str(tmp_path / "probes.cubin")],
                          capture_output=True, text=True, check=True).stdout
    sizes = loop_sizes(sass)
    for name, _, nc, n in X_CASES:
        size, body = sizes[f"x_{name}_{nc}_{n}"]
        items = sum("STS" in t for t in body)             # a row's sums stored once
        measured, model = size / items, gpu.fast_x_item(n, nc)
        assert abs(model - measured) <= 0.25 * measured, (name, nc, n, measured, model)
    for nc, n, s in Y_CASES:
        size, body = sizes[f"y_{nc}_{n}_{s}"]
        fours = sum("STG" in t for t in body) / (4 * nc)  # two rows in two columns
        measured = size / fours + 6                       # and the switch on (taps, shift)
        model = gpu.fast_y_pair(n, s, nc)
        assert abs(model - measured) <= 0.25 * measured, (nc, n, s, measured, model)
