"""Every code block of the README and of docs/ runs as written, in a scratch folder holding
the files the blocks name (photo.png, photo.jpg, scan.tif, a.png, photos/, clouds/, ...).

A block may be marked by an HTML comment on the line before it, ``<!-- test: MARKS -->``:
``installs`` (its ``pip install ... &&`` prefixes are dropped: the project is installed
already; a bare ``pytest`` line is this suite itself), ``gpu`` (runs where CuPy sees a GPU),
``slow`` (runs with RESAMPLE_SLOW_DOCS=1: the benchmarks), ``tree`` (a ``text`` map of the
package, checked against src/resample).  Every other block runs as it is.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"(?:<!-- test: (?P<marks>[^>]*?) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```",
                   re.S)
skimage_data = pytest.importorskip("skimage.data")


DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def readme_blocks():
    """The code blocks of the README and of every page of docs/, each with its marks."""
    out = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        page = "" if path.name == "README.md" else f"{path.stem}-"
        for m in FENCE.finditer(text):
            line = text[:m.start("lang")].count("\n") + 1
            marks = set((m.group("marks") or "").replace(",", " ").split())
            out.append(pytest.param(m.group("lang"), m.group("body"), marks,
                                    id=f"{page}line{line}"))
    return out


def _scratch(folder, broken=False):
    """The files the README's examples name, made from real photos (``broken``: with a
    truncated JPEG among the photos)."""
    photo = np.asarray(Image.open(ROOT / "examples" / "photo.png"))
    shutil.copytree(ROOT / "examples", folder / "examples")
    Image.fromarray(photo).save(folder / "photo.png")
    Image.fromarray(photo).save(folder / "photo.jpg", quality=90)
    Image.fromarray(skimage_data.camera()[::2, ::2][:200, :300]).save(folder / "scan.tif")
    Image.fromarray(skimage_data.chelsea()[::3, ::3]).save(folder / "a.png")      # several
    Image.fromarray(skimage_data.coffee()[::4, ::4]).save(folder / "b.jpg")       # inputs
    Image.fromarray(skimage_data.rocket()[::4, ::4]).save(folder / "c.tif")
    try:
        import zarr

        scan = skimage_data.camera()[::2, ::2][:200, :300]
        zarr.create_array(store=str(folder / "scan.zarr"), shape=scan.shape, chunks=(64, 64),
                          dtype=scan.dtype)[:] = scan
    except ImportError:
        pass
    photos = folder / "photos"
    (photos / "trip").mkdir(parents=True)
    Image.fromarray(skimage_data.coffee()[::4, ::4]).save(photos / "coffee.jpg", quality=90)
    Image.fromarray(skimage_data.chelsea()[::3, ::3]).save(photos / "cat.png")
    Image.fromarray(skimage_data.rocket()[::4, ::4]).save(photos / "trip" / "rocket.jpg")
    if broken:
        good = (photos / "coffee.jpg").read_bytes()
        (photos / "broken.jpg").write_bytes(good[: len(good) // 2])     # one bad file
    clouds = folder / "clouds"
    clouds.mkdir()
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{x:.2f},{y:.2f},{v:.0f}" for x, y, v in
                     zip(rng.uniform(0, 40, 300), rng.uniform(0, 30, 300),
                         rng.uniform(0, 255, 300)))
    (clouds / "field.csv").write_text(f"# frame: 40x30\nx,y,v\n{rows}\n")
    (folder / "stamp").write_text("")
    os.utime(folder / "stamp", (946684800, 946684800))                 # 2000: older
    return folder


def _runnable(lang, body, marks):
    if "installs" in marks:
        lines = []
        for line in body.splitlines():
            line = re.sub(r"^pip install \S+ && ", "", line)
            if line.strip() != "pytest":
                lines.append(line)
        body = "\n".join(lines) + "\n"
    return body


def _needs_torch(body):
    """A block of resample.torch's (docs/torch.md): it imports torch or runs its example."""
    return re.search(r"\bimport torch\b|resample\.torch|torch_fit", body) is not None


def _has_gpu():
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:                       # noqa: BLE001
        return False


@pytest.mark.slow
@pytest.mark.parametrize("lang, body, marks", readme_blocks())
def test_readme_block_runs_as_written(lang, body, marks, tmp_path):
    if "gpu" in marks and not _has_gpu():
        pytest.skip("a GPU block: runs where CuPy sees a GPU")
    if _needs_torch(body) and importlib.util.find_spec("torch") is None:
        pytest.skip("a torch block: runs where torch is installed (the [torch] extra)")
    if "slow" in marks and os.environ.get("RESAMPLE_SLOW_DOCS") != "1":
        pytest.skip("a slow block (the benchmarks): RESAMPLE_SLOW_DOCS=1 runs it")
    if lang == "text" and "tree" in marks:
        _check_tree(body)
        return
    assert lang in ("sh", "python"), f"a README block in {lang!r}: say how to run it"
    folder = _scratch(tmp_path, broken="dask.bag" in body)
    code = _runnable(lang, body, marks)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep
               + os.environ.get("PATH", ""), SLURM_ARRAY_TASK_ID="1")
    if lang == "sh":
        cmd = ["bash", "-e", "-o", "pipefail", "-c", code]
    else:
        (folder / "block.py").write_text(code)
        cmd = [sys.executable, "block.py"]
    done = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr
    if "dask.bag" in code:          # the bad file is reported, the others converted
        assert "3 converted, 1 failed" in done.stdout, done.stdout
        assert (folder / "small" / "trip" / "rocket.jpg").exists()


def test_every_block_is_found():
    """The fences the README and docs/ have are the blocks this module runs (none left
    out), and the README keeps its two set-up commands and its examples."""
    fences = sum(p.read_text(encoding="utf-8").count("```") // 2 for p in DOCUMENTS)
    assert len(readme_blocks()) == fences >= 12
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.count("```") // 2 >= 3 and len(readme.splitlines()) <= 160


def _check_tree(body):
    """A map of the package (``<!-- test: tree -->`` before a ``text`` block) stays true: it
    names every subpackage and module of src/resample, and each folder it names exists."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    package = os.path.join(root, "src", "resample")
    words = set(re.findall(r"[A-Za-z_][\w.]*/?", body))
    for folder in re.findall(r"^\s*([a-z_]+)/", body, re.M):
        assert os.path.isdir(os.path.join(package, folder)) or os.path.isdir(
            os.path.join(root, folder)), f"the map names {folder}/, which does not exist"
    for folder, _, names in os.walk(package):
        if "__pycache__" in folder:
            continue
        if folder != package:
            assert os.path.basename(folder) + "/" in words, f"the map lacks {folder}"
        for name in names:
            if name.endswith(".py") and name not in ("__init__.py", "__main__.py"):
                stem = name[:-3]
                assert stem in words or name in words, f"the map lacks {name} ({folder})"
