"""Hostile and unlucky input: each defect found by the reliability campaign, reproduced.

A folder run names every failed file whatever it raised; decoders are bounded by what the
file declares; memory is checked before large allocations (within RLIMIT_AS); SIGTERM acts
as Ctrl-C; stale temporary files of dead processes are removed; messages are one short line;
the API raises ResampleError for every bad argument.
"""

import os
import signal
import struct
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest
from PIL import Image

import resample
from resample import ResampleError
from resample.jobs import batch, convert
from resample.formats import files, images, png, pointcloud
from resample.engines import pointgrid
from resample.ops import gmm
from resample.cli.command import main

import commands

skimage_data = pytest.importorskip("skimage.data")
tifffile = pytest.importorskip("tifffile")


def command(*args, **kwargs):
    """The command in a new process, its output as text (tests/commands.py)."""
    return commands.command(*args, text=True, **kwargs)


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    Image.fromarray(skimage_data.astronaut()[::4, ::4]).save(path)     # 128x128 RGB
    return path


def _png(width, height, depth, colour, idat, extra=b""):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


# --- 1, 2: a folder run names every failure, whatever was raised ------------------------------

@pytest.mark.parametrize("stage", ["load_input", "resize_image"])
@pytest.mark.parametrize("error", [TypeError("bad tag"), ZeroDivisionError("division by zero"),
                                   struct.error("unpack requires a buffer"), zlib.error("bad"),
                                   OverflowError("too big"), RuntimeError("DeflateError")])
def test_any_exception_in_one_file_is_that_files_failure(tmp_path, photo, monkeypatch, error,
                                                         stage):
    """It used to hang (the result was never reported) or, for RuntimeError, count the file
    as "not started" and exit 0.  Raised while decoding ahead (16-bit TIFFs: the full
    job's decoders) or while converting (PNGs: the plain job's, in the encoders' pool)."""
    src = tmp_path / "in"
    src.mkdir()
    ext = ".tif" if stage == "load_input" else ".png"
    for name in ("a", "b", "c"):
        if ext == ".png":
            (src / f"{name}.png").write_bytes(photo.read_bytes())
        else:
            tifffile.imwrite(src / f"{name}.tif",        # 16-bit: the full job's
                             np.asarray(Image.open(photo)).astype(np.uint16) * 257)
    real = getattr(convert, stage)

    def fail_on_b(path, *args, **kwargs):
        if str(path).endswith("b" + ext):
            raise error
        return real(path, *args, **kwargs)

    monkeypatch.setattr(convert, stage, fail_on_b)
    jobs = batch.plan_outputs(batch.find_inputs(str(src)), str(tmp_path / "out"))
    failed = []
    summary = batch.run(jobs, convert.Options(scale=0.5), progress=False,
                        on_failure=lambda path, reason: failed.append(reason))
    assert (summary.converted, summary.failed, summary.not_started) == (2, 1, 0)
    assert len(failed) == 1 and "b" + ext in failed[0] and type(error).__name__ in failed[0]


def test_encoder_errors_are_the_files_failure(tmp_path, photo, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.png").write_bytes(photo.read_bytes())
    monkeypatch.setattr(png, "write_rows", lambda *a, **k: (_ for _ in ()).throw(OverflowError("x")))
    jobs = batch.plan_outputs(batch.find_inputs(str(src)), str(tmp_path / "out"))
    summary = batch.run(jobs, convert.Options(scale=0.5), progress=False)
    assert summary.failed == 1 and "cannot write" in summary.failures[0][1]
    assert os.listdir(tmp_path / "out") == []               # no temporary file left


def test_corrupt_deflate_tiff_beside_a_good_jpeg(tmp_path):
    """imagecodecs' DeflateError is a RuntimeError: it was taken for a cancellation."""
    src = tmp_path / "in"
    src.mkdir()
    rgb16 = (skimage_data.coffee()[::8, ::8].astype(np.uint16) * 257)
    tifffile.imwrite(src / "bad.tif", rgb16, photometric="rgb", compression="zlib")
    data = bytearray((src / "bad.tif").read_bytes())
    for i in range(16, 200):                                 # damage the compressed strip
        data[i] ^= 0x5A
    (src / "bad.tif").write_bytes(bytes(data))
    Image.fromarray(skimage_data.astronaut()[::4, ::4]).save(src / "good.jpg")
    done = command(src, "-o", tmp_path / "out", "--scale", "0.5", "-q")
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert any(line.startswith("resample: error:") and "bad.tif" in line for line in lines)
    assert "not started" not in lines[-1] and "1 converted, 0 skipped (output exists), 1 failed" in lines[-1]
    assert os.listdir(tmp_path / "out") == ["good.jpg"]


@pytest.mark.slow
def test_png_with_a_cut_short_exif_chunk(tmp_path):
    pixels = zlib.compress(b"\0" + b"\x10\x20\x30" * 4)          # one 4x1 RGB row
    exif = struct.pack(">I", 4096) + b"eXIf" + b"MM\0*\0\0\0\x08"  # declares 4 KiB, has 8
    path = tmp_path / "cut.png"
    path.write_bytes(_png(4, 1, 8, 2, pixels)[:-12] + exif)
    try:
        images.load(path)
    except ResampleError as exc:
        assert "cut.png" in str(exc)
    (tmp_path / "out").mkdir()
    for out in (tmp_path / "out" / "one.png", tmp_path / "out" / "one.jpg"):
        done = command(path, "-o", out, "--scale", "2")
        assert done.returncode in (0, 1) and "internal" not in done.stderr, done.stderr
    done = command(tmp_path, "-o", tmp_path / "folder", "--scale", "2", "-q", timeout=60)
    assert done.returncode in (0, 1) and "internal" not in done.stderr, done.stderr
    assert "not started" not in done.stderr


def test_points_with_a_huge_sigma_in_a_folder(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "p.csv").write_text("x,y,v\n1,1,10\n3,2,200\n")
    done = command(tmp_path / "in", "-o", tmp_path / "out", "--sigma", "1e300", "-q")
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert done.returncode in (0, 1) and "p.csv" in done.stderr or done.returncode == 0


# --- 3: decompression bombs --------------------------------------------------------------------

@pytest.mark.slow
def test_16bit_png_inflates_no_more_than_it_declares(tmp_path):
    """A 4 MB file declaring 64x64 took 42 s and 8.5 GB: the reader inflated every byte."""
    row = b"\0" + b"\x12\x34" * 3 * 64
    body = zlib.compress(row * 64 + b"\0" * (400 << 20), 9)      # 400 MB of zeros after
    path = tmp_path / "bomb.png"
    path.write_bytes(_png(64, 64, 16, 2, body))
    assert path.stat().st_size < 1 << 20
    import tracemalloc

    tracemalloc.start()
    try:
        pic = images.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20           # what it declares (24 KB) and its buffers, not 400 MB
    assert pic.array.shape == (64, 64, 3) and (pic.array == 0x1234).all()


def test_declared_size_is_checked_before_decoding(tmp_path):
    """A header declaring far more pixels than memory holds is refused from the header."""
    path = tmp_path / "huge.png"
    path.write_bytes(_png(60000, 60000, 16, 6, zlib.compress(b"\0" * 1000)))
    done = command(path, "-o", tmp_path / "o.png", "--scale", "0.5", limit_bytes=3 << 30)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "huge.png" in done.stderr


# --- 4: memory is checked before the big allocation, within RLIMIT_AS ---------------------------

@pytest.mark.slow
@pytest.mark.parametrize("size", ["--size=40000000x1!", "--size=1x40000000!",
                                  "--size=99999999x1!"])
def test_an_extreme_aspect_ratio_is_done_in_bounded_memory(tmp_path, photo, size):
    """A row (or column) of 40 to 100 million pixels: its tap tables would take 7 to 18 GB
    whole, so they are built by range as it streams; the process's peak resident memory
    stays within its imports' (about 150 MB) and 2.5 times the output's samples (the row
    itself, its filtered copy, the encoder's), within a 3 GB address-space limit."""
    out = tmp_path / "o.png"
    done = command(photo, "-o", out, size, limit_bytes=3 << 30, peak=True)
    assert done.returncode == 0, done.stderr
    side = int(size.split("=")[1].strip("!").replace("x1", "").replace("1x", ""))
    assert done.peak < (150 << 20) + 2.5 * 3 * side, done.peak
    assert "tap tables built by range" in done.stderr
    width, height = struct.unpack(">II", out.read_bytes()[16:24])         # its IHDR
    assert (width, height) == ((side, 1) if size.endswith("x1!") else (1, side))
    assert os.listdir(tmp_path) == ["o.png"]


@pytest.mark.parametrize("size", ["--scale=1e6", "--size=1000000000%",
                                  "--size=2147483647x1!"])
def test_a_job_that_cannot_fit_is_refused_at_once(tmp_path, photo, size):
    """Outputs whose tap tables alone exceed memory, or that no disk holds: neither in
    memory nor streamed, and refused before the tables are built (the process's peak
    resident memory stays that of its imports)."""
    done = command(photo, "-o", tmp_path / "o.png", size, limit_bytes=3 << 30, peak=True)
    assert done.peak < 400 << 20, done.peak
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("resample: error: ")
    assert "of memory" in done.stderr or "of disk" in done.stderr      # (streaming: disk)
    assert done.stderr.count("\n") == 1
    assert os.listdir(tmp_path) == []                 # nothing written, no .part file


@pytest.mark.slow
def test_a_job_too_big_for_memory_streams_and_what_cannot_stream_is_refused(tmp_path, photo):
    """Under a 600 MB address-space limit (where the process itself takes about 300 MB), a
    7000x7000 RGB PNG output (147 MB, about 600 MB to resize and encode in memory) streams
    on its own, in bounded memory, with the in-memory pixels; the same job with alpha, which
    does not stream, is refused at once in one line; nothing is left behind by either."""
    out = tmp_path / "big.png"
    done = command(photo, "-o", out, "--size=7000x7000", limit_bytes=600 << 20)
    assert done.returncode == 0 and "streamed" in done.stderr, done.stderr
    from resample.jobs import stream

    blocks, n = [], 0
    for block in stream.read_rows(out, 500):                        # its first 1000 rows
        blocks.append(block)
        n += len(block)
        if n >= 1000:
            break
    big = np.concatenate(blocks)[:1000]
    want = resample.resize(np.asarray(Image.open(photo)), shape=(7000, 7000),
                           boundary="truncate")[:1000]
    np.testing.assert_array_equal(big, want)
    rgba = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([np.asarray(Image.open(photo)),
                               np.full((128, 128), 200, np.uint8)])).save(rgba)
    done = command(rgba, "-o", tmp_path / "o.png", "--size=7000x7000", limit_bytes=600 << 20)
    assert done.returncode == 1 and "of memory" in done.stderr
    assert done.stderr.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == ["big.png", "rgba.png"]


def test_the_api_checks_memory_before_building_tables(monkeypatch):
    """A (128, 128) array asked for (1000, 1073741826) hit NumPy's MemoryError first."""
    from resample.spec import memory

    monkeypatch.setattr(memory, "available_memory", lambda: 1 << 30)
    with pytest.raises(ResampleError, match="of memory"):
        resample.resize(np.zeros((128, 128), np.uint8), shape=(1000, 1073741826))


def test_available_memory_counts_the_address_space_limit():
    code = ("import resource; from resample.spec import memory; "
            "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
            "print(memory.available_memory())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert 0 < int(out.stdout) < 2 << 30


# --- 5: SIGTERM, and temporary files of dead processes ----------------------------------------

@pytest.mark.slow
def test_sigterm_on_a_single_file_removes_the_partial_output(tmp_path, photo):
    out = tmp_path / "big.png"
    proc = subprocess.Popen([sys.executable, "-m", "resample", str(photo), "-o", str(out),
                             "--size", "9000x9000!", "--method", "lanczos"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(n.endswith(".part") for n in os.listdir(tmp_path)):
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the conversion ended before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip() == "resample: interrupted"
    assert os.listdir(tmp_path) == []


def test_stale_temporary_files_of_dead_processes_are_removed(tmp_path, photo):
    host = files._host_tag()
    dead = 4_000_000                                 # above any pid this machine hands out
    for pid in (dead, dead + 1):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    names = {f".resample-{host}-{dead}-abc.part": False,         # dead here: removed
             f".resample-{host}-{os.getpid()}-abc.part": True,    # alive: kept
             f".resample-otherhost-{dead}-abc.part": True,        # another machine's: kept
             ".resample-notours.part": True}
    # a writer in another pid namespace looks dead to kill(pid, 0), but holds its lock
    names[f".resample-{host}-{dead + 1}-locked.part"] = True
    for name in names:
        (tmp_path / name).write_bytes(b"")
    import fcntl

    held = os.open(tmp_path / f".resample-{host}-{dead + 1}-locked.part", os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        done = command(photo, "-o", tmp_path / "o.png", "--scale", "0.5")
    finally:
        os.close(held)
    assert done.returncode == 0, done.stderr
    left = set(os.listdir(tmp_path))
    assert {n for n, kept in names.items() if kept} | {"o.png"} == left


# --- 6: slow on innocent-looking input (see also test_gmm: holes) -------------------------------

def test_sigma_auto_with_clustered_points_and_one_far_point():
    """200k clustered points and one far point took 46 s (one grid cell held them all)."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(100, 900, (20, 2))
    xy = np.concatenate([centres[rng.integers(0, 20, 100_000)] + rng.normal(0, 4, (100_000, 2)),
                         [[1e6, 1e6]]])
    grid = pointgrid.PointGrid(xy)
    assert grid.shape[0] * grid.shape[1] > 10_000          # not one cell for everything
    sigma = gmm.auto_sigma(xy, rng.uniform(0, 255, len(xy)))
    q = xy[:: 5000]
    d2, _ = grid.knn(q, 3, exclude_self=False)
    ref = np.sort(((q[:, None] - xy[None]) ** 2).sum(-1), axis=1)[:, :3]
    np.testing.assert_allclose(d2, ref, rtol=1e-12)
    assert np.isfinite(sigma).all()


def test_a_bad_line_deep_in_a_long_csv_is_named(tmp_path):
    n = 3 * pointcloud.CHUNK_LINES + 17
    rows = [f"{i % 500}.5,{i % 300},{i % 256}" for i in range(n)]
    rows[n - 5] = "1,2,x"
    path = tmp_path / "long.csv"
    path.write_text("# frame comment\nx,y,v\n" + "\n".join(rows) + "\n")
    with pytest.raises(ResampleError, match=f"line {n - 5 + 3}: 'x' is not a number"):
        pointcloud.read_csv(path)
    rows[n - 5] = "1,2,3"
    cloud = pointcloud.read_csv(path.write_text("x,y,v\n" + "\n".join(rows)) and path)
    assert cloud.xy.shape == (n, 2) and cloud.values[7, 0] == 7 and cloud.xy[n - 1, 0] == (n - 1) % 500 + 0.5


# --- 7: one short line on stderr ---------------------------------------------------------------

def test_a_huge_csv_line_is_not_echoed(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("x,y,v\n1,2," + "9" * (4 << 20) + "\n")
    done = command(path, "-o", tmp_path / "o.png")
    assert done.returncode == 1 and len(done.stderr) < 300, done.stderr[:300]
    assert "line 2" in done.stderr
    with pytest.raises(ResampleError) as info:
        pointcloud.read_csv(path)
    assert len(str(info.value)) < 300
    path.write_text("x,y,v\n1,2," + "z" * 1000 + "\n")
    with pytest.raises(ResampleError) as info:
        pointcloud.read_csv(path)
    assert len(str(info.value)) < 200 and "1000 characters" in str(info.value)


def test_library_chatter_stays_off_stderr(tmp_path):
    """libtiff wrote its own lines; float samples with NaN raised NumPy RuntimeWarnings."""
    a = skimage_data.camera()[::8, ::8].astype(np.float32) / 255
    a[3, 4], a[5, 6] = np.nan, np.inf
    tifffile.imwrite(tmp_path / "nan.tif", a)
    done = command(tmp_path / "nan.tif", "-o", tmp_path / "big.tif", "--scale", "2.5",
                   "--method", "lanczos")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    tifffile.imwrite(tmp_path / "lzw.tif", skimage_data.camera()[::4, ::4], compression="lzw")
    data = bytearray((tmp_path / "lzw.tif").read_bytes())
    data[200:4000] = bytes(3800)                                # wreck the LZW strips
    (tmp_path / "lzw.tif").write_bytes(bytes(data))
    done = command(tmp_path / "lzw.tif", "-o", tmp_path / "lzw.png", "--scale", "2")
    assert done.stderr.count("\n") <= 1 and all(
        line.startswith("resample: ") for line in done.stderr.splitlines()), done.stderr


# --- 8: the right class of error ------------------------------------------------------------------

def test_huge_scale_is_a_usage_error(tmp_path, photo, capsys):
    assert main([str(photo), "-o", str(tmp_path / "o.png"), "--scale", "1e308"]) == 2
    assert "more than" in capsys.readouterr().err
    with pytest.raises(ResampleError):
        resample.resize(np.zeros((4, 4)), scale=1e308)


@pytest.mark.parametrize("ext", [".gif", ".tga", ".jpg", ".webp"])
def test_an_output_too_wide_for_its_format_is_refused_before_work(tmp_path, photo, capsys, ext):
    assert main([str(photo), "-o", str(tmp_path / f"o{ext}"), "--size", "70000x10!"]) == 1
    assert "too large for" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_an_output_folder_that_cannot_be_made(tmp_path, photo, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(photo.read_bytes())
    assert main([str(tmp_path / "in"), "-o", "/proc/resample-cannot-be-here/x",
                 "--scale", "0.5"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("resample: error: ") and "internal" not in err


@pytest.mark.parametrize("dtype", [">u2", ">f4", ">f8", ">i4", np.longdouble])
def test_byte_order_and_extended_precision(dtype):
    a = (skimage_data.camera()[::16, ::16].astype(np.float64) * 3).astype(dtype)
    native = a.astype(np.dtype(dtype).newbyteorder("=")) if np.dtype(dtype).itemsize <= 8 \
        else a.astype(np.float64)
    got = resample.resize(a, scale=1.5, method="bicubic")
    assert got.dtype == a.dtype
    want = resample.resize(native, scale=1.5, method="bicubic")
    np.testing.assert_array_equal(got.astype(np.float64), want.astype(np.float64))


@pytest.mark.parametrize("call", [
    lambda: resample.resize(np.zeros((4, 4)), scale=2, fill="abc", boundary="constant"),
    lambda: resample.sample(np.zeros((4, 4)), [["a", "b"]]),
    lambda: resample.reconstruct([[1.0, 1.0]], [1.0], (4, 4), fill=None, holes="constant"),
    lambda: resample.reconstruct([[1.0, 1.0]], [1.0], (4, 4), fill="abc", holes="constant"),
    lambda: resample.resize(np.zeros((4, 4), np.complex64), scale=2),
])
def test_bad_arguments_raise_resample_error(call):
    with pytest.raises(ResampleError):
        call()


def test_a_huge_cutoff_reaches_every_pixel():
    xy, v = np.array([[1.0, 2.0], [3.0, 1.0]]), np.array([1.0, 5.0])
    huge = resample.reconstruct(xy, v, (4, 5), sigma=1.0, cutoff=1e20, return_weights=True)
    wide = resample.reconstruct(xy, v, (4, 5), sigma=1.0, cutoff=50.0, return_weights=True)
    np.testing.assert_array_equal(huge[0], wide[0])
    assert (huge[1] > 0).all()
    d = resample.reconstruct_vjp(xy, v, (4, 5), np.ones((4, 5)), sigma=1.0, cutoff=1e20)
    assert all(np.isfinite(g).all() for g in d)


def test_points_of_a_float_image_with_nan_skip_the_missing_pixels(tmp_path, capsys):
    a = np.full((6, 7), 0.5, np.float32)
    a[2, 3] = np.nan
    a[:, 5] = np.inf
    tifffile.imwrite(tmp_path / "f.tif", a)
    for pattern in ("random", "grid"):
        csv = tmp_path / f"{pattern}.csv"
        assert main(["points", str(tmp_path / "f.tif"), "-o", str(csv), "--fraction", "1",
                     "--pattern", pattern]) == 0
        cloud = pointcloud.read_csv(csv)                   # it reads back
        assert np.isfinite(cloud.values).all() and len(cloud.xy) <= 6 * 7 - 7
    assert "finite" in capsys.readouterr().err


# --- 9: float RGB TIFF -----------------------------------------------------------------------------

@pytest.mark.parametrize("channels", [3, 4])
def test_float_colour_tiff_reads_including_our_own(tmp_path, capsys, channels):
    rng = np.random.default_rng(channels)
    a = rng.uniform(-1, 2, (9, 11, channels)).astype(np.float32)
    tifffile.imwrite(tmp_path / "f.tif", a, photometric="rgb", compression="zlib",
                     extrasamples=[2] if channels == 4 else None)
    pic = images.load(tmp_path / "f.tif")
    np.testing.assert_array_equal(pic.array, a)
    assert pic.alpha == (channels == 4)
    assert main([str(tmp_path / "f.tif"), "-o", str(tmp_path / "g.tif"), "--scale", "2"]) == 0
    back = images.load(tmp_path / "g.tif")                  # what the tool wrote reads too
    assert back.array.shape == (18, 22, channels) and back.array.dtype == np.float32
    capsys.readouterr()
