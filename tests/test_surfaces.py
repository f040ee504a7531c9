"""Hostile and unlucky input on the newer surfaces: Zarr stores, streams, frames and pages,
pipes, clusters, lists and point clouds.  Each test reproduces one finding in a new process
where the finding was about a whole run (limits, signals, hangs), with tiny generated inputs.
A refusal is proven by what the run allocated (an address-space limit) and by what it left,
never by a wall-clock budget; timeouts only keep a broken build from hanging the suite.
"""

import os
import resource
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import hostile
from commands import command

skimage_data = pytest.importorskip("skimage.data")

GB = 1 << 30


def one_line_error(result, code=None):
    """The run failed with one line on stderr, starting 'resample: error:'; its text."""
    err = result.stderr.decode()
    assert result.returncode != 0 and (code is None or result.returncode == code), err
    assert err.count("\n") == 1 and err.startswith("resample: error: "), err
    assert "internal error" not in err and "Traceback" not in err, err
    return err


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    Image.fromarray(skimage_data.astronaut()[::4, ::4]).save(path)     # 128x128 RGB
    return path


# --- 1: nothing of the user's is deleted: existing output folders ---------------------------

def test_an_existing_folder_is_never_replaced_by_a_zarr_output(tmp_path, photo):
    """A folder of the user's files named like a Zarr store is refused, with --overwrite too;
    a Zarr group holding other arrays is refused without --overwrite and left whole."""
    zarr = pytest.importorskip("zarr")
    mine = tmp_path / "photos.zarr"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    for extra in ((), ("--overwrite",)):
        err = one_line_error(command(photo, "-o", mine, "--scale", "0.5", *extra), 2)
        assert "not a Zarr store" in err
        assert os.listdir(mine) == ["notes.txt"] and (mine / "notes.txt").read_text() == "precious"
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("0", shape=(8, 8), dtype=np.uint8)[:] = 1
    group.create_array("labels", shape=(8, 8), dtype=np.uint8)[:] = 7
    before = sorted(os.listdir(tmp_path / "g.zarr"))
    err = one_line_error(command(photo, "-o", tmp_path / "g.zarr", "--scale", "0.5"), 2)
    assert "--overwrite" in err and sorted(os.listdir(tmp_path / "g.zarr")) == before
    assert (np.asarray(zarr.open_group(str(tmp_path / "g.zarr"))["labels"]) == 7).all()
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".resample-")]


def test_overwrite_replaces_a_zarr_store_only_once_the_new_one_is_whole(tmp_path, photo):
    """--overwrite replaces a Zarr store (with a trailing slash too), never the one that holds
    the input; the new store follows the umask."""
    zarr = pytest.importorskip("zarr")
    old = zarr.create_array(store=str(tmp_path / "out.zarr"), shape=(4, 4), dtype=np.uint8)
    old[:] = 3
    result = command(photo, "-o", f"{tmp_path / 'out.zarr'}/", "--scale", "0.5", "--overwrite")
    assert result.returncode == 0, result.stderr
    got = np.asarray(zarr.open_array(str(tmp_path / "out.zarr"), mode="r"))
    assert got.shape == (64, 64, 3)
    assert oct(os.stat(tmp_path / "out.zarr").st_mode & 0o777) == oct(0o777 & ~_umask())
    scan = tmp_path / "scan.zarr"
    zarr.create_array(store=str(scan), shape=(4, 4), dtype=np.uint8)
    (scan / "original.png").write_bytes(photo.read_bytes())
    err = one_line_error(command(scan / "original.png", "-o", scan, "--scale", "0.5",
                                 "--overwrite"), 2)
    assert "holds the input" in err and (scan / "original.png").exists()
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".resample-")]


def test_the_zarr_writer_itself_refuses_to_replace(tmp_path):
    """The rule is the writer's, not only the command's: the library refuses too."""
    pytest.importorskip("zarr")
    from resample import ResampleError
    from resample.jobs import stream

    mine = tmp_path / "mine.zarr"
    mine.mkdir()
    (mine / "keep.txt").write_text("x")
    strips = iter([np.zeros((4, 4, 1), np.uint8)])
    for overwrite in (False, True):
        with pytest.raises(ResampleError, match="not a Zarr store"):
            stream.write_zarr(mine, strips, 4, 4, 1, np.uint8, overwrite=overwrite)
    assert os.listdir(mine) == ["keep.txt"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_folder_outputs_that_name_a_file_are_usage_errors(tmp_path, photo):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.png").write_bytes(photo.read_bytes())
    for out in (tmp_path / "one.png", "-", tmp_path / "x.zarr"):
        one_line_error(command(folder, "-o", out, "--scale", "0.5", cwd=tmp_path), 2)
        assert not os.path.exists(tmp_path / "one.png") and not os.path.exists(tmp_path / "-")


# --- tiny files that declare huge images ---------------------------------------------------

def shared_chunk_tiff(path, width, height, *, tile=None, pages=1, bits=8, samples=1):
    """A little-endian TIFF of ``pages`` pages of ``width`` x ``height``, every strip (or tile,
    ``tile`` pixels square) of every page pointing at ONE shared deflated chunk of zeros:
    a few KB that declare any number of pixels."""
    import struct
    import zlib

    rows = tile or height
    across = -(-width // tile) if tile else 1
    down = -(-height // rows)
    chunk_w = tile or width
    chunk = zlib.compress(bytes(rows * chunk_w * samples * bits // 8), 9)
    n = across * down
    out = bytearray(b"II*\0" + struct.pack("<I", 0))
    data_at = len(out)
    out += chunk
    arrays_at = len(out)
    out += struct.pack(f"<{n}I", *([data_at] * n)) + struct.pack(f"<{n}I", *([len(chunk)] * n))
    first = len(out)
    struct.pack_into("<I", out, 4, first)
    for p in range(pages):
        tags = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, bits), (259, 3, 1, 8),
                (262, 3, 1, 1 if samples == 1 else 2), (277, 3, 1, samples)]
        if tile:
            tags += [(322, 3, 1, tile), (323, 3, 1, tile), (324, 4, n, arrays_at),
                     (325, 4, n, arrays_at + 4 * n)]
        else:
            tags += [(273, 4, n, arrays_at if n > 1 else data_at), (278, 4, 1, rows),
                     (279, 4, n, arrays_at + 4 * n if n > 1 else len(chunk))]
        tags.sort()
        here = len(out)
        nxt = here + 2 + 12 * len(tags) + 4 if p + 1 < pages else 0
        out += struct.pack("<H", len(tags))
        for tag, kind, count, value in tags:
            out += struct.pack("<HHI", tag, kind, count) + (
                struct.pack("<HH", value, 0) if kind == 3 and count == 1 else
                struct.pack("<I", value))
        out += struct.pack("<I", nxt)
    path.write_bytes(bytes(out))
    return path


@pytest.mark.parametrize("extra", [("--stream",), ("--pyramid",), ("--max-pixels", "1M"), ()])
def test_a_streamed_tiff_bomb_is_refused_at_once(tmp_path, extra):
    """A few KB declaring 100000x100000 pixels: refused with --stream, --pyramid and
    --max-pixels alike, under 4 GB of address space, before anything is decoded."""
    src = shared_chunk_tiff(tmp_path / "bomb.tif", 100000, 100000, tile=4096)
    result = command(src, "-o", tmp_path / "out.tif", "--scale", "0.01", *extra,
                     limit_bytes=4 * GB)
    err = one_line_error(result, 1)
    assert "decompression-bomb limit" in err
    assert os.listdir(tmp_path) == ["bomb.tif"]


@pytest.mark.parametrize("name,side,count", [("anim.gif", 10000, 60), ("anim.png", 10000, 40),
                                             ("anim.webp", 8000, 30)])
def test_a_frame_bomb_is_refused_before_any_frame_is_composited(tmp_path, name, side, count):
    """A small animation of a huge canvas and many tiny frames: all its frames' pixels count
    against the pixel limit before the first is composited; refused in one line under 4 GB."""
    make = {".gif": hostile.make_gif_frame_bomb, ".png": hostile.make_apng_frame_bomb,
            ".webp": hostile.make_webp_frame_bomb}[os.path.splitext(name)[1]]
    src = tmp_path / name
    make(src, side, count)
    assert os.path.getsize(src) < 200_000
    result = command(src, "-o", tmp_path / f"out{src.suffix}", "--scale", "0.5",
                     limit_bytes=4 * GB)
    err = one_line_error(result, 1)
    assert f"{count} frames of up to {side}x{side}" in err and "decompression-bomb" in err
    assert sorted(os.listdir(tmp_path)) == [name]


def test_frames_past_memory_are_refused_before_any_is_composited(tmp_path):
    """With the pixel limit lifted, the outputs an animation's encoder holds still count
    against memory first: refused in one line, not killed."""
    src = hostile.make_gif_frame_bomb(tmp_path / "anim.gif", 10000, 60)
    result = command(src, "-o", tmp_path / "out.gif", "--scale", "0.5", "--max-pixels", "none",
                     limit_bytes=4 * GB)
    err = one_line_error(result, 1)
    assert "60 frames of up to 10000x10000 into GIF needs" in err and "of memory" in err


@pytest.mark.slow
def test_a_page_bomb_is_refused_and_pages_stream_into_a_tiff(tmp_path):
    """400 pages of 4000x4000 sharing one deflated strip: refused as a bomb before any page is
    decoded; with the limit lifted, the pages go one at a time into the TIFF output, in
    bounded memory."""
    src = shared_chunk_tiff(tmp_path / "pages.tif", 4000, 4000, pages=400)
    err = one_line_error(command(src, "-o", tmp_path / "o.tif", "--scale", "0.5",
                                 limit_bytes=4 * GB), 1)
    assert "400 pages of up to 4000x4000" in err
    src = shared_chunk_tiff(tmp_path / "few.tif", 2000, 2000, pages=12)
    result = command(src, "-o", tmp_path / "o.tif", "--scale", "0.5", "--max-pixels", "none",
                     limit_bytes=1 * GB)
    assert result.returncode == 0, result.stderr
    import tifffile

    with tifffile.TiffFile(tmp_path / "o.tif") as tif:
        assert len(tif.pages) == 12 and tif.pages[11].shape == (1000, 1000)


def test_a_two_page_16_bit_rgb_tiff_into_jpeg_takes_its_first_page(tmp_path):
    """A valid 2-page 16-bit RGB TIFF without tifffile's shape metadata: the first page alone
    is read (it was refused as 'image must be 2-D' after reading both)."""
    import tifffile

    photo = skimage_data.astronaut()[::8, ::8].astype(np.uint16) * 257
    with tifffile.TiffWriter(tmp_path / "two.tif") as tif:
        for page in (photo, photo[::-1]):
            tif.write(page, photometric="rgb", metadata=None, contiguous=False)
    assert tifffile.imread(tmp_path / "two.tif").shape == (2, 64, 64, 3)
    result = command(tmp_path / "two.tif", "-o", tmp_path / "o.jpg", "--scale", "0.5")
    assert result.returncode == 0, result.stderr
    assert "2 pages: only the first" in result.stderr.decode()
    got = np.asarray(Image.open(tmp_path / "o.jpg")).astype(int)
    import resample

    want = resample.resize(photo, scale=0.5, boundary="truncate") / 257
    assert got.shape == want.shape and np.abs(got - want).mean() < 8      # JPEG at 95


# --- 11: the k-nearest search whatever the layout -------------------------------------------

def _brute_knn(xy, queries, k, exclude_self):
    d = ((queries[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    if exclude_self:
        np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, :k]


@pytest.mark.parametrize("layout", ["uniform", "coincident", "clustered", "one point"])
@pytest.mark.parametrize("exclude_self", [False, True])
def test_k_nearest_equals_brute_force_whatever_the_layout(layout, exclude_self):
    """Coincident and clustered clouds go through the k-d tree (a crowded grid cell would be
    scanned by every query near it: O(N^2)); every layout gives the brute force's distances,
    and indices whose distances they are (never the query itself with exclude_self)."""
    from resample.engines import pointgrid

    rng = np.random.default_rng(3)
    xy = {"uniform": rng.random((2000, 2)) * 50,
          "coincident": np.repeat(rng.random((20, 2)) * 50, 100, axis=0),
          "clustered": np.concatenate([5 + 1e-9 * rng.random((1000, 2)),
                                       50 * rng.random((1000, 2))]),
          "one point": np.full((3000, 2), 7.25)}[layout]
    grid = pointgrid.PointGrid(xy)
    assert grid.crowded == (layout != "uniform")
    queries = xy if exclude_self else np.concatenate([xy[::7], 60 * rng.random((300, 2)) - 5,
                                                      4000 * rng.random((100, 2)) - 2000])
    d2, idx = grid.knn(queries, 9, exclude_self)
    # (the engine may fuse a multiply-add: the last bit of a distance may differ)
    np.testing.assert_allclose(d2, _brute_knn(xy, queries, 9, exclude_self), rtol=1e-12,
                               atol=1e-300)
    np.testing.assert_allclose(((xy[idx] - queries[:, None]) ** 2).sum(-1), d2, rtol=1e-12,
                               atol=1e-300)
    if exclude_self:
        assert not (idx == np.arange(len(xy))[:, None]).any()


def test_a_csv_of_one_repeated_row_rebuilds_like_one_point(tmp_path):
    """200k copies of one point (the O(N^2) case): the steered rule takes the k-d tree, and
    the picture is that point's colour everywhere."""
    rows = "x,y,r,g,b\n" + "10.5,7.25,200,30,40\n" * 200_000
    (tmp_path / "same.csv").write_text("# frame: 32x24\n" + rows)
    result = command(tmp_path / "same.csv", "-o", tmp_path / "o.png", timeout=300)
    assert result.returncode == 0, result.stderr
    got = np.asarray(Image.open(tmp_path / "o.png"))
    assert got.shape == (24, 32, 3) and (got == [200, 30, 40]).all()


# --- 13: cgroup v1 and v2 memory limits --------------------------------------------------------

@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("visible", [True, False])
def test_a_cgroup_memory_limit_counts_in_v1_and_v2(tmp_path, version, visible):
    """The least room of the process's cgroup and those above it, whichever cgroup version
    (v1: older Docker, Slurm), and in a container that sees its cgroup at the mount's root."""
    from resample.spec import memory

    rel = "/job/step"
    proc = tmp_path / "cgroup"
    if version == 1:
        proc.write_text(f"9:cpu,cpuacct:{rel}\n4:memory:{rel}\n0::/\n")
        base, limit_name, usage_name, unlimited = (tmp_path / "memory", "memory.limit_in_bytes",
                                                   "memory.usage_in_bytes", str(2**63 - 4096))
    else:
        proc.write_text(f"0::{rel}\n")
        base, limit_name, usage_name, unlimited = tmp_path, "memory.max", "memory.current", "max"
    leaf = base / "job" / "step" if visible else base
    parent = base / "job"
    for folder, limit, used in ((base, unlimited, "5"), (parent, str(3 << 30), str(1 << 30)),
                                (leaf, str(8 << 30), str(2 << 30))):
        if folder == leaf or visible:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / limit_name).write_text(limit + "\n")
            (folder / usage_name).write_text(used + "\n")
    room = memory._cgroup_room(str(proc), str(tmp_path))
    assert room == ((2 << 30) if visible else (6 << 30))     # the parent's 3 - 1 GiB binds
    (leaf / limit_name).write_text(unlimited + "\n")
    assert memory._cgroup_room(str(proc), str(tmp_path)) == ((2 << 30) if visible else None)


# --- 6, 7: clusters that do not answer, lose their scheduler, or lose workers -----------------

@pytest.mark.slow
def test_a_scheduler_that_accepts_and_never_speaks_is_refused_in_bounded_time(tmp_path, photo):
    """A port that accepts and says nothing (a wrong service, a wedged scheduler): one line,
    within the connection's bound (the process's timeout here only guards the suite)."""
    pytest.importorskip("distributed")
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.png").write_bytes(photo.read_bytes())
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    result = command(folder, "-o", tmp_path / "out", "--scale", "0.5", "--scheduler", address,
                     timeout=60)
    server.close()
    err = one_line_error(result, 1)
    assert "cannot connect" in err and "did not answer as a Dask scheduler" in err


@pytest.mark.slow
def test_a_cluster_that_loses_its_scheduler_ends_with_the_summary(tmp_path, capsys):
    """The scheduler closes while files are converting: every file not converted is named
    with its reason, the summary is the local run's, exit 1, and no library log or traceback
    reaches the standard error."""
    distributed = pytest.importorskip("distributed")
    import threading
    import time

    from resample.cli.command import main

    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    big = np.tile(skimage_data.astronaut(), (5, 5, 1))                  # 2560x2560 RGB
    for i in range(10):
        Image.fromarray(np.roll(big, 7 * i, axis=1)).save(folder / f"p{i}.png",
                                                         compress_level=0)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)

    def close_at_first_output():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (out.exists() and any(
                not n.startswith(".") for n in os.listdir(out))):
            time.sleep(0.01)
        cluster.close()

    closer = threading.Thread(target=close_at_first_output, daemon=True)
    closer.start()
    code = main([str(folder), "-o", str(out), "--scale", "0.37", "-m", "lanczos",
                 "--scheduler", cluster.scheduler_address])
    closer.join(30)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code == 1, err
    assert all(line.startswith("resample: ") for line in lines), err
    failed = [line for line in lines if "not converted" in line]
    summary = lines[-1]
    done = len([n for n in os.listdir(out) if not n.startswith(".")])
    assert 1 <= done < 10 and f"{done} converted" in summary, err
    assert f"{10 - done} failed" in summary and len(failed) == 10 - done, err
    assert all("scheduler" in line for line in failed), err


def test_a_task_whose_worker_dies_is_that_file_s_failure(monkeypatch):
    """What the cluster raises for a task (its workers killed, its scheduler lost) becomes
    that file's one-line reason."""
    distributed = pytest.importorskip("distributed")
    from distributed.scheduler import KilledWorker

    from resample.jobs import cluster

    class Done:
        def __init__(self, exc):
            self.exc = exc

        def result(self, timeout=None):
            raise self.exc

    status, reason = cluster._outcome(Done(KilledWorker("k", None, 3)))
    assert status == "failed" and "workers that ran it died" in reason
    status, reason = cluster._outcome(Done(distributed.client.FutureCancelledError("k", "lost")))
    assert status == "failed" and "scheduler was lost" in reason


# --- 8, 9: standard input ----------------------------------------------------------------------

def _resample_photo_then_zeros(photo, out, env):
    """``resample - -o out --scale 0.5`` reading ``photo``'s bytes and then zeros without end
    from its standard input (another process writes them)."""
    feeder = subprocess.Popen([sys.executable, "-c", "import sys\n"
                               f"sys.stdout.buffer.write(open({str(photo)!r}, 'rb').read())\n"
                               "while True: sys.stdout.buffer.write(bytes(1 << 20))"],
                              stdout=subprocess.PIPE)
    try:
        return subprocess.run([sys.executable, "-m", "resample", "-", "-o", out, "--scale",
                               "0.5"], stdin=feeder.stdout, capture_output=True, timeout=120,
                              env=env)
    finally:
        feeder.kill()
        feeder.wait()


def _tmpdir_env(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return tmp, {**os.environ, "TMPDIR": str(tmp)}


def test_endless_garbage_on_standard_input_is_refused_from_its_first_bytes(tmp_path):
    """`yes | resample - -o -`: refused at once from the first bytes, nothing spooled."""
    tmp, env = _tmpdir_env(tmp_path)
    yes = subprocess.Popen(["yes"], stdout=subprocess.PIPE)
    try:
        result = subprocess.run([sys.executable, "-m", "resample", "-", "-o", "-", "--format",
                                 "png", "--scale", "0.5"], stdin=yes.stdout,
                                capture_output=True, timeout=60, env=env)
    finally:
        yes.kill()
        yes.wait()
    err = one_line_error(result, 1)
    assert "standard input: not an image" in err and result.stdout == b""
    assert os.listdir(tmp) == []


def test_standard_input_is_bounded_by_the_pixel_limit(tmp_path, photo):
    """A PNG's first bytes and then endless data: stopped past what an image within the pixel
    limit can take, and its copy removed."""
    tmp, env = _tmpdir_env(tmp_path)
    env["RESAMPLE_MAX_PIXELS"] = "1M"
    result = _resample_photo_then_zeros(photo, tmp_path / "o.png", env)
    err = one_line_error(result, 1)
    assert "more than an image within" in err
    assert os.listdir(tmp) == [] and not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_while_reading_standard_input_leaves_no_copy(tmp_path, photo, sig):
    """SIGTERM or Ctrl-C while the image is still arriving: exit 130, no copy left."""
    import signal
    import time

    tmp, env = _tmpdir_env(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "resample", "-", "-o", tmp_path / "o.png",
                             "--scale", "0.5"], stdin=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    proc.stdin.write(photo.read_bytes()[:2000])
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not os.listdir(tmp) and time.monotonic() < deadline:      # the copy has begun
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(getattr(signal, sig))
    try:
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, proc.stderr.read()
    assert os.listdir(tmp) == [] and not (tmp_path / "o.png").exists()


# --- 10: what is not a regular file -------------------------------------------------------------

def test_a_fifo_is_refused_in_a_list_and_skipped_with_a_note_in_a_folder(tmp_path, photo):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.png").write_bytes(photo.read_bytes())
    os.mkfifo(folder / "b.png")
    listed = tmp_path / "list.txt"
    listed.write_text(f"{folder / 'b.png'}\n{folder / 'a.png'}\n")
    result = command("--from-list", listed, "-o", tmp_path / "out1", "--scale", "0.5",
                     timeout=60)
    err = result.stderr.decode()
    assert result.returncode == 1 and "b.png: not a regular file (a FIFO)" in err, err
    assert "1 converted" in err and (tmp_path / "out1" / "a.png").exists()
    result = command(folder, "-o", tmp_path / "out2", "--scale", "0.5", timeout=60)
    err = result.stderr.decode()
    assert result.returncode == 0 and "not a regular file" in err and "1 converted" in err, err


def test_an_interrupted_run_does_not_wait_for_a_reader_blocked_in_the_system(tmp_path):
    """A worker blocked in open() on a FIFO cannot be interrupted: after an interrupted run
    the process exits at once all the same, and removes the temporary outputs it held."""
    os.mkfifo(tmp_path / "never")
    part = tmp_path / ".resample-x-1-y.part"
    script = f"""
import threading
from resample.jobs import console
from resample.formats import files
threading.Thread(target=lambda: open({str(tmp_path / 'never')!r}), name="resample-decode-0").start()
open({str(part)!r}, "w").close()
files.hold_temporary({str(part)!r})
console.exit_if_stuck(130, seconds=0.5)
print("not reached")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == 130 and b"not reached" not in result.stdout
    assert not part.exists()


# --- 14, 16: metadata that declares too much ----------------------------------------------------

def test_an_ome_header_declaring_1e8_planes_is_read_as_a_plain_tiff(tmp_path):
    src = hostile.make_ome_plane_bomb(tmp_path / "bomb.ome.tif")
    result = command(src, "-o", tmp_path / "o.png", "--scale", "2", "--stream",
                     limit_bytes=2 * GB, timeout=120)
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert "declares 100000000 planes for 1 pages: read as a plain TIFF" in err


def test_an_exif_thumbnail_larger_than_its_image_is_not_used(tmp_path):
    """IFD1 claims a 12000x9000 thumbnail in a 640x480 JPEG: the image itself is resized."""
    src = hostile.make_exif_thumbnail_bomb(tmp_path / "t.jpg")
    result = command(src, "-o", tmp_path / "o.png", "--size", "64x", "--exif-thumbnail",
                     limit_bytes=2 * GB)
    assert result.returncode == 0, result.stderr
    assert b"thumbnail" not in result.stderr
    assert Image.open(tmp_path / "o.png").size == (64, 48)


# --- 18: full disks and leftovers -----------------------------------------------------------------

@pytest.mark.parametrize("out", ["o.png", "o.tif", "o.zarr"])
def test_a_write_past_the_file_size_limit_is_one_clear_line_and_leaves_nothing(tmp_path, out):
    """A streamed output that cannot be written whole (EFBIG here, as ENOSPC would be): one
    line saying why, no temporary file or folder left."""
    if out.endswith(".zarr"):
        pytest.importorskip("zarr")
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (600, 600, 3), np.uint8)          # does not compress
    Image.fromarray(noise).save(tmp_path / "in.png", compress_level=0)
    (tmp_path / "w").mkdir()

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))

    result = subprocess.run([sys.executable, "-m", "resample", tmp_path / "in.png", "-o",
                             tmp_path / "w" / out, "--scale", "1.5", "--stream"],
                            capture_output=True, timeout=120, preexec_fn=small_files)
    err = one_line_error(result, 1)
    assert any(why in err for why in ("too large for the file system", "no space left",
                                      "could not be written whole")), err
    assert os.listdir(tmp_path / "w") == []


def test_a_killed_zarr_write_is_removed_by_the_next_write(tmp_path, photo):
    """kill -9 leaves a locked temporary folder; once its process is gone the next write
    into that folder removes it."""
    pytest.importorskip("zarr")
    from resample.formats import files

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    left = tmp_path / f".resample-{files._host_tag()}-{dead}-abcdef.part"
    (left / "c").mkdir(parents=True)
    (left / "zarr.json").write_text("{}")
    result = command(photo, "-o", tmp_path / "new.zarr", "--scale", "0.5")
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == sorted([photo.name, "new.zarr"]) or \
        not left.exists()
    assert not left.exists()


# --- 19: arrays given to the API --------------------------------------------------------------

def test_a_view_is_counted_before_it_is_copied(tmp_path):
    """A transposed 1.2 GB view under a 2.3 GB address-space limit: a ResampleError saying
    what the copy needs, not NumPy's raw MemoryError."""
    script = """
import resource, numpy as np, resample
a = np.zeros((20000, 20000, 3), np.uint8)
resource.setrlimit(resource.RLIMIT_AS, (int(2.3 * 2**30), int(2.3 * 2**30)))
try:
    resample.resize(a.transpose(1, 0, 2), shape=(10, 10))
except resample.ResampleError as exc:
    print("refused:", exc)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "refused: a contiguous copy of the 20000x20000x3 image" in result.stdout


def test_object_and_text_values_are_refused_in_one_line():
    import resample

    with pytest.raises(resample.ResampleError, match="values must be integers or floats"):
        resample.reconstruct(np.array([[1.0, 2.0]]), np.array([object()], dtype=object),
                             (4, 4))
    with pytest.raises(resample.ResampleError, match="xy must be numbers"):
        resample.reconstruct(np.array([["a", "b"]]), np.array([1.0]), (4, 4))


# --- 20, 21: clear errors where internal ones were ----------------------------------------------

@pytest.mark.slow
def test_damaged_headers_and_arguments_get_their_own_one_line_errors(tmp_path, photo):
    zarr = pytest.importorskip("zarr")
    zero = hostile.make_png_width_zero(tmp_path / "zero.png")
    for extra in (("--size", "64x64"), ("--scale", "2", "--stream")):
        err = one_line_error(command(zero, "-o", tmp_path / "o.png", *extra), 1)
        assert err.count("zero.png") == 1 and "not an image" in err
    err = one_line_error(command(photo, "-o", tmp_path / "o.png", "--size", "9" * 5000), 2)
    assert "a side may be at most" in err and len(err) < 200
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_group("0")
    err = one_line_error(command(tmp_path / "g.zarr", "-o", tmp_path / "o.png", "--scale",
                                 "0.5"), 1)
    assert "its '0' is a group" in err
    (tmp_path / "junk.zarr").mkdir()
    (tmp_path / "junk.zarr" / "zarr.json").write_text("{")
    err = one_line_error(command(tmp_path / "junk.zarr", "-o", tmp_path / "o.png", "--scale",
                                 "0.5"), 1)
    assert "cannot read Zarr" in err and "is a folder" not in err
    (tmp_path / "notimg.png").write_text("hello")
    err = one_line_error(command(tmp_path / "notimg.png", "-o", tmp_path / "o.png",
                                 "--scale", "0.5"), 1)
    assert err.count("notimg.png") == 1


def test_an_out_of_range_exif_orientation_is_ignored_with_a_true_note(tmp_path, photo):
    exif = Image.Exif()
    exif[0x0112] = 65535
    Image.open(photo).save(tmp_path / "o65535.jpg", exif=exif.tobytes())
    result = command(tmp_path / "o65535.jpg", "-o", tmp_path / "o.png", "--scale", "0.5")
    err = result.stderr.decode()
    assert result.returncode == 0 and "ignored an EXIF orientation of 65535" in err, err
    assert "applied" not in err and Image.open(tmp_path / "o.png").size == (64, 64)


def test_libpng_warnings_stay_off_stderr(tmp_path):
    """An unusual iCCP chunk and extra compressed data: libpng warns (through Python's own
    stream); the command says nothing."""
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    raw = b"".join(b"\0" + bytes(range(48)) for _ in range(16))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
           + chunk(b"iCCP", b"foo\0\0" + zlib.compress(b"not a profile" * 10))
           + chunk(b"IDAT", zlib.compress(raw) + b"extra") + chunk(b"IEND", b""))
    (tmp_path / "warn.png").write_bytes(png)
    for extra in ((), ("--strip",)):
        result = command(tmp_path / "warn.png", "-o", tmp_path / "o.png", "--size", "20x20",
                         *extra)
        assert result.returncode == 0 and result.stderr == b"", result.stderr


# --- 15, 17: costs per tile and per page ---------------------------------------------------------

@pytest.mark.slow
def test_tiny_tiles_stream_by_runs_of_tiles(tmp_path):
    """16x16 tiles (the smallest TIFF allows) stream, decoded a codec call a tile into their
    place (deflate, LZW, Zstandard or none; with or without differencing), equal to the
    whole image's resize."""
    import tifffile

    import resample

    ramp = (np.add.outer(np.arange(300), np.arange(310)) % 256).astype(np.uint8)
    rgb = np.dstack([ramp, ramp[::-1], ramp[:, ::-1]])
    want = resample.resize(rgb, scale=0.5, boundary="truncate")
    for tile, predictor, compression in ((16, None, "zlib"), (16, 2, "zlib"), (32, None, "lzw"),
                                         (16, None, None), (16, 2, "zstd")):
        path = tmp_path / f"t{tile}-{predictor}-{compression}.tif"
        tifffile.imwrite(path, rgb, tile=(tile, tile), compression=compression,
                         predictor=predictor, photometric="rgb")
        result = command(path, "-o", tmp_path / "o.tif", "--scale", "0.5", "--stream")
        assert result.returncode == 0 and b"streamed" in result.stderr, result.stderr
        np.testing.assert_array_equal(tifffile.imread(tmp_path / "o.tif"), want)


def test_tiles_smaller_than_16x16_are_refused_by_the_streaming_reader(tmp_path):
    """Counted from the first directory before tifffile makes an object of every tile."""
    from resample.jobs import stream

    path = shared_chunk_tiff(tmp_path / "t.tif", 64, 64, tile=16)
    data = bytearray(path.read_bytes())
    for tag in (322, 323):                     # make the tiles 8x8 in the directory
        import struct

        at = data.index(struct.pack("<HHI", tag, 3, 1))
        struct.pack_into("<H", data, at + 8, 8)
    path.write_bytes(bytes(data))
    with pytest.raises(stream.NotStreamable, match="8x8 tiles"):
        stream.open_source(path)


def test_pages_are_written_page_by_page_into_a_tiff(tmp_path, monkeypatch):
    """Many pages go into a TIFF through tifffile's writer, a page at a time (Pillow's
    appending writer re-reads every directory for each page: quadratic), each page right."""
    import tifffile
    from PIL import TiffImagePlugin

    from resample.cli.command import main

    pages = [np.full((3, 4), i, np.uint16) for i in range(300)]
    with tifffile.TiffWriter(tmp_path / "many.tif") as tif:
        for page in pages:
            tif.write(page, metadata=None, contiguous=False)

    def refused(*args, **kwargs):
        raise AssertionError("Pillow's TIFF writer was used")

    monkeypatch.setattr(TiffImagePlugin, "_save_all", refused)
    monkeypatch.setattr(TiffImagePlugin, "_save", refused)
    assert main([str(tmp_path / "many.tif"), "-o", str(tmp_path / "o.tif"), "--scale", "2",
                 "-q"]) == 0
    with tifffile.TiffFile(tmp_path / "o.tif") as tif:
        assert len(tif.pages) == 300
        for i in (0, 1, 150, 299):
            assert (tif.pages[i].asarray() == i).all() and tif.pages[i].shape == (6, 8)


@pytest.mark.slow
def test_a_file_too_big_for_a_worker_streams_there_or_is_refused_with_its_reason(tmp_path,
                                                                                capsys):
    """A worker's memory limit bounds its tasks as a machine's memory does: a PNG that would
    not fit in memory there streams, a JPEG (which cannot stream) is refused with its reason;
    the nanny never has to kill the worker."""
    distributed = pytest.importorskip("distributed")
    from resample.cli.command import main

    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    big = np.tile(skimage_data.astronaut(), (8, 8, 1))                 # 4096x4096 RGB
    Image.fromarray(big).save(folder / "big.png", compress_level=1)
    Image.fromarray(big).save(folder / "big.jpg", quality=80)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  memory_limit="700MB", dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            before = client.run(os.getpid)
            code = main([str(folder), "-o", str(out), "--scale", "2", "--scheduler",
                         cluster.scheduler_address])
            after = client.run(os.getpid)
        err = capsys.readouterr().err
    assert code == 1, err
    assert "big.jpg" in err and "of memory" in err and "1 converted" in err, err
    assert "streamed" in err and list(before.values()) == list(after.values())  # no restart
    assert Image.open(out / "big.png").size == (8192, 8192)


# --- 3, 12: Zarr inputs and tap tables answer to the limits --------------------------------------

def test_zarr_inputs_answer_to_the_pixel_limit(tmp_path):
    """A 1e6 x 1e6 array with no chunks stored is a bomb (refused by the default limit); a
    20000x20000 one is refused by an explicit --max-pixels 1M, which streaming never passes."""
    zarr = pytest.importorskip("zarr")
    zarr.create_array(store=str(tmp_path / "huge.zarr"), shape=(10**6, 10**6),
                      chunks=(256, 256), dtype=np.uint8)
    zarr.create_array(store=str(tmp_path / "mid.zarr"), shape=(20000, 20000),
                      chunks=(2048, 2048), dtype=np.uint8)
    err = one_line_error(command(tmp_path / "huge.zarr", "-o", tmp_path / "o.png", "--size",
                                 "100x", limit_bytes=4 * GB), 1)
    assert "1000000000000 pixels" in err and "decompression-bomb limit" in err
    err = one_line_error(command(tmp_path / "mid.zarr", "-o", tmp_path / "o.png", "--size",
                                 "100x", "--max-pixels", "1M", limit_bytes=4 * GB), 1)
    assert "limit of 1000000" in err
    assert not (tmp_path / "o.png").exists()


def test_tap_tables_are_counted_before_they_are_built(tmp_path):
    """1 x 200,000,000 grey pixels shrunk to 64x64 (the pixel limit lifted): the tables would
    take gigabytes, and the job is refused in one line under 4 GB before they are built."""
    src = hostile.make_png_long_row(tmp_path / "row.png")
    err = one_line_error(command(src, "-o", tmp_path / "o.png", "--size", "64x64",
                                 "--max-pixels", "none", limit_bytes=4 * GB), 1)
    assert "of memory" in err and not (tmp_path / "o.png").exists()


# --- found by a second hostile campaign ---------------------------------------------------------

def test_an_apng_claiming_millions_of_frames_is_refused_before_any_list_of_them(tmp_path):
    """A 2-frame APNG whose acTL claims 2^25 frames: refused from its size at once (it took
    49 s and 2.6 GB to build the frames' list first)."""
    import struct
    import zlib

    frames = [Image.new("RGB", (4, 4), (i * 90, 0, 0)) for i in range(2)]
    frames[0].save(tmp_path / "two.png", save_all=True, append_images=frames[1:])
    data = bytearray((tmp_path / "two.png").read_bytes())
    at = data.index(b"acTL")
    data[at + 4:at + 8] = struct.pack(">I", 1 << 25)
    data[at + 12:at + 16] = struct.pack(">I", zlib.crc32(bytes(data[at:at + 12])))
    (tmp_path / "lie.png").write_bytes(bytes(data))
    err = one_line_error(command(tmp_path / "lie.png", "-o", tmp_path / "o.gif", "--scale",
                                 "0.5", limit_bytes=2 * GB), 1)
    assert "declares 33554432 frames" in err


def test_a_tiff_of_many_pages_is_not_searched_for_a_pyramid(tmp_path, monkeypatch):
    """tifffile's series detection is quadratic in the pages (20000 pages took 157 s into a
    JPEG): a TIFF of more than 64 pages is not streamed, and its series never asked for."""
    import tifffile

    from resample.jobs import stream

    with tifffile.TiffWriter(tmp_path / "many.tif") as tif:
        for i in range(100):
            tif.write(np.full((2, 3), i, np.uint8), metadata=None, contiguous=False)

    def refused(self):
        raise AssertionError("the series were asked for")

    monkeypatch.setattr(tifffile.TiffFile, "series", property(refused))
    with pytest.raises(stream.NotStreamable, match="100 pages"):
        stream.open_source(tmp_path / "many.tif")
    from resample.cli.command import main

    assert main([str(tmp_path / "many.tif"), "-o", str(tmp_path / "o.jpg"), "--scale", "2",
                 "-q"]) == 0


def test_lists_and_point_clouds_that_never_end_are_refused(tmp_path):
    """--from-list of a device, a list line longer than any path, a CSV that is a device:
    one line each (they read without bound, to an out-of-memory end)."""
    err = one_line_error(command("--from-list", "/dev/zero", "-o", tmp_path / "out",
                                 "--scale", "0.5", limit_bytes=4 * GB), 1)
    assert "not a regular file (a device)" in err
    result = command("--from-list", "-", "-o", tmp_path / "out", "--scale", "0.5",
                     stdin=b"x" * (200 << 10), limit_bytes=4 * GB)
    assert "a line of more than 65536 characters" in one_line_error(result, 1)
    os.symlink("/dev/zero", tmp_path / "zero.csv")
    err = one_line_error(command(tmp_path / "zero.csv", "-o", tmp_path / "o.png",
                                 limit_bytes=4 * GB), 1)
    assert "not a regular file" in err


def test_more_threads_than_fit_are_cut_with_a_note(tmp_path, photo):
    """--threads 1000 under 4 GB of address space: a thread library asked for them fails
    mid-run (silently, or with a segmentation fault); they are cut to what fits, with a
    note, and the job runs."""
    result = command(photo, "-o", tmp_path / "o.png", "--scale", "2", "--threads", "1000",
                     limit_bytes=4 * GB)
    assert result.returncode == 0, result.stderr
    assert b"threads do not fit in the memory available" in result.stderr
    err = one_line_error(command(photo, "-o", tmp_path / "o.png", "--scale", "2",
                                 "--threads", "100000"), 2)
    assert "--threads: 100000 is not in the range 1-1024" in err


def test_closed_pipes_and_bad_scheduler_addresses_are_one_line(tmp_path, photo):
    result = subprocess.run([sys.executable, "-m", "resample", "-", "-o", "-", "--scale",
                             "0.5"], stdin=subprocess.DEVNULL, capture_output=True,
                            timeout=60, preexec_fn=lambda: os.close(0))
    assert "standard input: closed" in one_line_error(result, 1)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.png").write_bytes(photo.read_bytes())
    for address in ("tcp://127.0.0.1:99999", "tcp://[::1"):
        err = one_line_error(command(folder, "-o", tmp_path / "out", "--scale", "0.5",
                                     "--scheduler", address), 2)
        assert "is not an address" in err


def test_a_sparse_file_does_not_let_a_bomb_pass(tmp_path):
    """A store's padding file of 40 MB that holds no blocks does not count as stored bytes."""
    zarr = pytest.importorskip("zarr")
    zarr.create_array(store=str(tmp_path / "sp.zarr"), shape=(60000, 60000),
                      chunks=(256, 256), dtype=np.uint8)
    with open(tmp_path / "sp.zarr" / "padding", "wb") as f:
        f.truncate(40 << 20)
    if os.stat(tmp_path / "sp.zarr" / "padding").st_blocks * 512 >= 40 << 20:
        pytest.skip("this file system does not make sparse files")
    err = one_line_error(command(tmp_path / "sp.zarr", "-o", tmp_path / "o.png", "--size",
                                 "100x", limit_bytes=4 * GB), 1)
    assert "decompression-bomb limit" in err


def test_overwrite_never_replaces_a_store_holding_other_files(tmp_path, photo):
    """A folder with Zarr metadata and a user's file beside it: not replaced, even with
    --overwrite (the file would go with it)."""
    fake = tmp_path / "fake.zarr"
    fake.mkdir()
    (fake / "zarr.json").write_text("{}")
    (fake / "data.txt").write_text("mine")
    err = one_line_error(command(photo, "-o", fake, "--scale", "0.5", "--overwrite"), 2)
    assert "'data.txt'" in err and (fake / "data.txt").read_text() == "mine"


def test_a_png_on_standard_input_is_bounded_by_its_header(tmp_path, photo):
    """A PNG header followed by endless zeros: stopped past what its IHDR can take (it was
    spooled to the pixel limit's bound, 2.7 GB)."""
    tmp, env = _tmpdir_env(tmp_path)
    result = _resample_photo_then_zeros(photo, tmp_path / "o.png", env)
    assert "the size its PNG header declares" in one_line_error(result, 1)
    assert os.listdir(tmp) == []
