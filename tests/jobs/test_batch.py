"""Folder conversion: a nested folder of real photos in several formats, one corrupt file,
reruns, interruption, selection, sharding and lists."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import resample
from resample.jobs import batch
from resample.formats import images
from resample.cli.command import main

skimage_data = pytest.importorskip("skimage.data")


def _shrink(a, f):
    return np.asarray(Image.fromarray(a).reduce(f))


def _with_alpha(rgb):
    alpha = np.full(rgb.shape[:2], 180, np.uint8)
    alpha[:10] = 0                                                 # a transparent band
    return np.dstack([rgb, alpha])


def _write_tree(root):
    """A nested folder of real photos: PNG, JPEG, TIFF, RGBA, 16-bit, grey, a corrupt JPEG, a
    point cloud, and files to skip.  Returns {relative path: (width, height, mode)}."""
    photos = {
        "astronaut.png": _shrink(skimage_data.astronaut(), 4),                 # 128x128 RGB
        "café au lait.jpg": _shrink(skimage_data.coffee(), 4),                  # 150x100 RGB
        "sub/camera.tif": _shrink(skimage_data.camera(), 4),                    # grey
        "sub/chelsea rgba.png": _with_alpha(_shrink(skimage_data.chelsea(), 3)),
        "sub/deeper/rocket.jpg": _shrink(skimage_data.rocket(), 5),
    }
    expected = {}
    for rel, a in photos.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Image.fromarray(a).save(path, **({"quality": 90} if rel.endswith(".jpg") else {}))
        mode = {2: "L", 3: "RGB", 4: "RGBA"}[a.ndim if a.ndim == 2 else a.shape[2]]
        expected[rel] = (round(a.shape[1] / 2), round(a.shape[0] / 2), mode)
    moon16 = skimage_data.moon()[::4, ::4].astype(np.uint16) * 257                # 16-bit grey
    Image.fromarray(moon16).save(os.path.join(root, "sub/moon16.png"))
    expected["sub/moon16.png"] = (64, 64, "I;16")
    good = open(os.path.join(root, "café au lait.jpg"), "rb").read()
    with open(os.path.join(root, "sub/broken.jpg"), "wb") as f:
        f.write(good[: len(good) // 2])                                       # truncated
    with open(os.path.join(root, "sub/points.csv"), "w") as f:
        f.write("x,y,v\n0,0,10\n9,0,200\n0,5,90\n9,5,30\n")
    expected["sub/points.png"] = (5, 3, "L")        # no frame: what its points span (10x6),
                                                    # halved by --scale 0.5
    for rel in ("notes.txt", ".hidden.png", "sub/readme.md"):
        with open(os.path.join(root, rel), "w") as f:
            f.write("not an image")
    return expected


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    return src, _write_tree(str(src))


def _outputs(root):
    found = []
    for here, _, files in os.walk(root):
        found += [os.path.relpath(os.path.join(here, f), root).replace(os.sep, "/")
                  for f in files]
    return sorted(found)


def _snapshot(root):
    return {rel: os.stat(os.path.join(root, rel)).st_mtime_ns for rel in _outputs(root)}


def test_folder_converts_every_good_file_and_names_the_corrupt_one(tree, tmp_path, capsys):
    src, expected = tree
    out = tmp_path / "out"
    assert main([str(src), "-o", str(out), "--scale", "0.5", "-r", "-q"]) == 1
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "truncated" in err
    assert len(err.strip().splitlines()) == 2                      # the failure + the summary
    assert "1 failed" in err
    assert _outputs(out) == sorted(expected)
    for rel, (w, h, mode) in expected.items():
        with Image.open(out / rel) as im:
            assert im.size == (w, h) and im.mode == mode, rel
    # the same pixels as the library's resize of the decoded input
    a = images.load(src / "astronaut.png").array
    np.testing.assert_array_equal(np.asarray(Image.open(out / "astronaut.png")),
                                  resample.resize(a, shape=(64, 64), boundary="truncate"))


def test_rerun_rewrites_nothing_and_overwrite_redoes(tree, tmp_path, capsys):
    src, expected = tree
    out = tmp_path / "out"
    main([str(src), "-o", str(out), "--scale", "0.5", "-r", "-q"])
    before = _snapshot(out)
    time.sleep(0.01)
    assert main([str(src), "-o", str(out), "--scale", "0.5", "-r"]) == 1     # still the corrupt
    assert _snapshot(out) == before
    assert f"0 converted, {len(expected)} skipped" in capsys.readouterr().err
    assert main([str(src), "-o", str(out), "--scale", "0.5", "-r", "-q", "--overwrite"]) == 1
    after = _snapshot(out)
    assert sorted(after) == sorted(before) and all(after[k] > before[k] for k in before)


def test_without_r_only_the_top_folder(tree, tmp_path):
    src, _ = tree
    out = tmp_path / "out"
    assert main([str(src), "-o", str(out), "--size", "50%", "-q"]) == 0
    assert _outputs(out) == ["astronaut.png", "café au lait.jpg"]


def test_output_folder_inside_the_input_is_never_read(tree):
    src, expected = tree
    out = src / "small"
    for _ in range(2):
        main([str(src), "-o", str(out), "--scale", "0.5", "-r", "-q"])
    assert _outputs(out) == sorted(expected)                  # no small/small/...


def test_folder_into_itself_without_a_suffix_is_one_usage_error(tree, capsys):
    src, _ = tree
    before = sorted(os.listdir(src))
    assert main([str(src), "-o", str(src), "--scale", "0.5"]) == 2
    err = capsys.readouterr().err
    assert err.count("error") == 1 and "converting a folder into itself" in err
    assert sorted(os.listdir(src)) == before


def test_folder_into_itself_with_a_suffix_skips_its_own_outputs(tree, capsys):
    src, _ = tree
    for _ in range(2):
        main([str(src), "-o", str(src), "--scale", "0.5", "--suffix", "-half"])
    assert sorted(f for f in os.listdir(src) if "-half" in f) == \
        ["astronaut-half.png", "café au lait-half.jpg"]


def test_format_quality_suffix_include_exclude(tree, tmp_path):
    src, expected = tree
    out = tmp_path / "out"
    assert main([str(src), "-o", str(out), "--scale", "0.5", "-r", "-q", "--format", "webp",
                 "--quality", "60", "--suffix", "_s", "--include", "*.png", "--include",
                 "*.tif", "--exclude", "sub/deeper/*", "--exclude", "moon*"]) == 0
    assert _outputs(out) == ["astronaut_s.webp", "sub/camera_s.webp", "sub/chelsea rgba_s.webp"]
    with Image.open(out / "sub/chelsea rgba_s.webp") as im:
        assert im.format == "WEBP" and im.mode == "RGBA"
        assert im.size == expected["sub/chelsea rgba.png"][:2]


def test_two_inputs_for_one_output_are_refused_before_any_is_converted(tmp_path, capsys):
    """a.png and a.jpg both map to a.png with --format png: said at once, in one line,
    before anything is written (not as a failure in the middle of the run)."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    a = _shrink(skimage_data.astronaut(), 8)
    Image.fromarray(a).save(src / "a.png")
    Image.fromarray(a).save(src / "a.jpg")
    Image.fromarray(a).save(src / "b.png")
    assert main([str(src), "-o", str(out), "--scale", "0.5", "--format", "png", "-q"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "two inputs, one output:" in err
    assert "a.jpg" in err and "a.png ->" in err and "leave out --format" in err
    assert "rename one of them" in err and "--suffix" not in err    # (a suffix renames all)
    assert not out.exists()
    # the same files on the command line, into one folder, as mogrify -path
    assert main([str(src / "a.png"), str(src / "b.png"), "-o", str(out) + "/", "--scale",
                 "0.5", "-q"]) == 0
    assert _outputs(out) == ["a.png", "b.png"]


def test_symlinks_out_of_the_folder_need_follow_links(tmp_path):
    src, out, elsewhere = tmp_path / "in", tmp_path / "out", tmp_path / "elsewhere"
    src.mkdir()
    elsewhere.mkdir()
    a = _shrink(skimage_data.astronaut(), 8)
    Image.fromarray(a).save(elsewhere / "far.png")
    Image.fromarray(a).save(src / "near.png")
    os.symlink(elsewhere / "far.png", src / "link.png")
    os.symlink(src / "near.png", src / "inside.png")
    os.symlink(elsewhere, src / "linkdir")
    assert main([str(src), "-o", str(out), "--scale", "0.5", "-r", "-q"]) == 0
    assert _outputs(out) == ["inside.png", "near.png"]
    assert main([str(src), "-o", str(out), "--scale", "0.5", "-r", "-q",
                 "--follow-links"]) == 0
    assert _outputs(out) == ["inside.png", "link.png", "linkdir/far.png", "near.png"]


def test_shards_split_the_files_stably(tree, tmp_path):
    src, expected = tree
    rels = [j.rel for j in batch.find_inputs(str(src), recursive=True)]
    parts = [[r for r in rels if batch.in_shard(r, (k, 3))] for k in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(rels)                 # each file in one shard
    for k in (1, 2, 3):
        out = tmp_path / f"out{k}"
        main([str(src), "-o", str(out), "--scale", "0.5", "-r", "-q", "--shard", f"{k}/3"])
        want = [r for r in parts[k - 1] if not r.endswith("broken.jpg")]
        want = sorted(r.replace(".csv", ".png") for r in want)
        assert _outputs(out) == want
    # stable: a hash of the relative path, not of the listing order or the machine
    assert batch.in_shard("sub/camera.tif", (1, 2)) == batch.in_shard("sub/camera.tif", (1, 2))
    assert [batch.in_shard(f"f{i}.png", (1, 4)) for i in range(8)] == \
        [batch.in_shard(f"f{i}.png", (1, 4)) for i in range(8)]


def test_an_empty_selection_and_a_rerun_say_why(tmp_path, capsys):
    """A shard or an --include that keeps no file says so (not that the folder is empty); a
    rerun that finds every output there already says they are from an earlier run."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(_shrink(skimage_data.astronaut(), 8)).save(src / "a.png")
    assert main([str(src), "-o", str(out), "--scale", "0.5", "--include", "*.jpg"]) == 0
    err = capsys.readouterr().err
    assert "nothing to convert: --include keeps none of the 1 images" in err and not out.exists()
    shard = next(f"{k}/4" for k in range(1, 5) if not batch.in_shard("a.png", (k, 4)))
    assert main([str(src), "-o", str(out), "--scale", "0.5", "--shard", shard]) == 0
    assert "nothing to convert: --shard keeps none of the 1 images" in capsys.readouterr().err
    listing = tmp_path / "none.txt"
    listing.write_text("")
    assert main(["--from-list", str(listing), "-o", str(out), "--scale", "0.5"]) == 0
    assert "to convert in the list " in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty), "-o", str(out), "--scale", "0.5"]) == 0
    assert "no images or point clouds to convert in" in capsys.readouterr().err
    assert main([str(src), "-o", str(out), "--scale", "0.5"]) == 0
    capsys.readouterr()
    assert main([str(src), "-o", str(out), "--scale", "0.25"]) == 0
    assert ("0 converted, 1 skipped (outputs exist, from an earlier run: --overwrite converts "
            "them again)") in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["0/3", "4/3", "x", "1/0", "1-3"])
def test_bad_shard_is_a_usage_error(tree, tmp_path, bad, capsys):
    src, _ = tree
    assert main([str(src), "-o", str(tmp_path / "o"), "--scale", "0.5", "--shard", bad]) == 2
    assert "--shard" in capsys.readouterr().err


def test_from_list_reads_paths_from_a_file_and_stdin(tree, tmp_path, monkeypatch, capsys):
    src, _ = tree
    listing = tmp_path / "list.txt"
    # a listed name that is no image is an error (exit 1), not dropped quietly; a stray space
    # after a name that exists without it is dropped
    listing.write_text(f"{src}/astronaut.png \n\n{src}/sub/camera.tif\n{src}/notes.txt\n",
                       encoding="utf-8")
    out = tmp_path / "out"
    assert main(["--from-list", str(listing), "-o", str(out), "--scale", "0.5", "-q"]) == 1
    assert _outputs(out) == ["astronaut.png", "camera.tif"]         # absolute: names only
    assert "notes.txt: not an image or CSV name" in capsys.readouterr().err
    listing.write_text(f"{src}/notes.txt\n", encoding="utf-8")
    assert main(["--from-list", str(listing), "-o", str(out), "--scale", "0.5", "-q"]) == 1
    assert "nothing to convert" in capsys.readouterr().err
    monkeypatch.chdir(src)
    monkeypatch.setattr(sys, "stdin", open(listing.parent / "rel.txt", "w+", encoding="utf-8"))
    sys.stdin.write("./sub/deeper/rocket.jpg\nsub/camera.tif\n")
    sys.stdin.seek(0)
    out2 = tmp_path / "out2"
    assert main(["--from-list", "-", "-o", str(out2), "--scale", "0.5", "-q"]) == 0
    assert _outputs(out2) == ["sub/camera.tif", "sub/deeper/rocket.jpg"]   # relative: kept


def test_fail_fast_stops_at_the_first_failure(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    big = skimage_data.astronaut()
    Image.fromarray(big).save(src / "z-big.jpg", quality=95)
    data = (src / "z-big.jpg").read_bytes()
    (src / "z-big.jpg").write_bytes(data[: len(data) * 2 // 3])    # largest: goes first
    for i in range(6):
        Image.fromarray(_shrink(big, 8)).save(src / f"small{i}.png")
    assert main([str(src), "-o", str(out), "--scale", "0.5", "--jobs", "1",
                 "--fail-fast"]) == 1
    err = capsys.readouterr().err
    assert "z-big.jpg" in err and "not started" in err
    assert len(_outputs(out)) < 6


@pytest.mark.parametrize("args, message", [
    (["-o", "{out}", "--scale", "0.5", "-r"], "for folders, lists and several inputs only"),
    (["--scale", "0.5"], "needs -o OUTDIR"),
    (["-o", "{file}", "--scale", "0.5"], "is not a folder"),
    (["-o", "{out}"], "give --scale S or --size GEOMETRY"),
    (["-o", "{out}", "--size", "abc"], "is not WxH"),
    (["-o", "{out}", "--scale", "2", "--suffix", "a/b"], "folder separator"),
    (["-o", "{out}", "--scale", "2", "--weights", "w.png"], "--weights"),
])
def test_batch_usage_errors(tree, tmp_path, args, message, capsys):
    src, _ = tree
    target = str(src / "astronaut.png") if "-r" in args else str(src)
    args = [a.format(out=tmp_path / "o", file=src / "astronaut.png") for a in args]
    assert main([target] + args) == 2
    err = capsys.readouterr().err
    assert err.startswith("resample: error:") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_an_empty_folder_is_not_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "-o", str(tmp_path / "o"), "--scale", "2"]) == 0
    assert "no images" in capsys.readouterr().err


def _many_photos(root, n=24):
    os.makedirs(root)
    big = skimage_data.astronaut()
    for i in range(n):
        a = np.roll(big, 17 * i, axis=1)
        Image.fromarray(np.tile(a, (2, 2, 1))).save(os.path.join(root, f"p{i:02d}.png"))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_leaves_only_complete_files_and_resumes(tmp_path, sig):
    src, out = str(tmp_path / "in"), str(tmp_path / "out")
    _many_photos(src)
    cmd = [sys.executable, "-m", "resample", src, "-o", out, "--scale", "0.5", "--jobs", "2"]
    # The child starts with SIGINT's default action whatever this process inherited: a shell
    # starts background jobs with SIGINT ignored, and Python then leaves it ignored.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        done = [f for f in os.listdir(out) if f.endswith(".png")] if os.path.isdir(out) else []
        if done:
            break
        time.sleep(0.01)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err              # stopped before the 24 files were done
    assert "Traceback" not in err
    assert err.startswith("resample: interrupted:") and len(err.strip().splitlines()) == 1
    left = os.listdir(out)
    assert 0 < len([f for f in left if not f.startswith(".")]) < 24
    assert not [f for f in left if f.endswith(".part")], left    # no temporary files left
    for name in left:
        with Image.open(os.path.join(out, name)) as im:
            im.load()                                            # complete and readable
            assert im.size == (512, 512)
    rerun = subprocess.run(cmd + ["-q"], capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(os.listdir(out)) == sorted(os.listdir(src))


@pytest.mark.slow
def test_a_folder_on_a_dask_cluster(tree, tmp_path, capsys):
    """--scheduler ADDRESS: each file a task on a dask.distributed cluster (a LocalCluster of
    two worker processes here): the same outputs as a local run, the corrupt file reported
    alone (exit 1), notes summarised, and a rerun skips what exists."""
    distributed = pytest.importorskip("distributed")
    src, expected = tree
    local, remote = tmp_path / "local", tmp_path / "remote"
    main([str(src), "-o", str(local), "--scale", "0.5", "-r", "-q"])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        args = [str(src), "-o", str(remote), "--scale", "0.5", "-r",
                "--scheduler", cluster.scheduler_address]
        assert main(args) == 1
        err = capsys.readouterr().err
        assert "broken.jpg" in err and f"{len(expected)} converted" in err and "1 failed" in err
        assert _outputs(remote) == _outputs(local)
        for rel in _outputs(local):
            if rel.endswith(".png"):
                np.testing.assert_array_equal(np.asarray(Image.open(remote / rel)),
                                              np.asarray(Image.open(local / rel)))
        assert main(args) == 1                              # resumes: all but the broken one
        assert (f"{len(expected)} skipped (outputs exist, from an earlier run: --overwrite "
                "converts them again)") in capsys.readouterr().err
    assert main([str(src), "-o", str(tmp_path / "x"), "--scale", "0.5", "--scheduler",
                 "tcp://127.0.0.1:1"]) == 1
    assert "cannot connect" in capsys.readouterr().err


def test_a_folder_s_files_go_to_the_plain_job_with_the_full_job_s_pixels(tree, tmp_path,
                                                                          monkeypatch):
    """The 8- and 16-bit PNGs, the JPEGs and the 8-bit TIFF of a folder are the plain job's
    (no arrays decoded ahead for them), the point cloud the full job's; every output as the
    full job alone writes it."""
    from resample.jobs import plain

    src, expected = tree
    taken = []
    real = plain.write

    def spy(job, *args, **kwargs):
        taken.append(os.path.relpath(job.out_path, tmp_path / "plain").replace(os.sep, "/"))
        return real(job, *args, **kwargs)

    monkeypatch.setattr(plain, "write", spy)
    assert main([str(src), "-o", str(tmp_path / "plain"), "--scale", "0.5", "-r", "-q"]) == 1
    assert sorted(taken) == sorted(["astronaut.png", "café au lait.jpg", "sub/chelsea rgba.png",
                                    "sub/deeper/rocket.jpg", "sub/moon16.png",
                                    "sub/camera.tif"])
    with monkeypatch.context() as m:
        m.setattr(plain, "takes", lambda *args: False)
        assert main([str(src), "-o", str(tmp_path / "full"), "--scale", "0.5", "-r", "-q"]) == 1
    made = _outputs(tmp_path / "plain")
    assert made == _outputs(tmp_path / "full") and len(made) == len(expected)
    for rel in made:
        with Image.open(tmp_path / "plain" / rel) as a, Image.open(tmp_path / "full" / rel) as b:
            assert (a.mode, a.size) == (b.mode, b.size), rel
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=rel)
