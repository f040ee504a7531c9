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

skimage_data = pytest.importorskip("skimage.data")

GB = 1 << 30


def command(*args, limit_bytes=None, timeout=120, stdin=None, env=None, cwd=None):
    """Run the command in a new process (under an address-space limit, if given)."""
    def limit():
        if limit_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "resample", *map(str, args)],
                          capture_output=True, timeout=timeout, preexec_fn=limit,
                          input=stdin, env=env, cwd=cwd)


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
    from resample import ResampleError, stream

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
