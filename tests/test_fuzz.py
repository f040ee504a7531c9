"""Seeded fuzz test of image decoding: damaged files fail cleanly, never with a crash or a hang.

Small real photos (from ``skimage.data``) are written in every input format the library reads
(8- and 16-bit PNG, PNG with an eXIf chunk, JPEG with EXIF, TIFF with LZW or deflate, tiled,
16-bit and float TIFF, WebP, GIF, BMP).  Each file is then damaged in ``MUTANTS_PER_SOURCE``
deterministic ways: truncation, random bit flips, changes biased to the first bytes (where the
PNG IHDR, TIFF IFDs and tags, and other headers live), and duplicated or removed runs of
bytes.  A damaged PNG is also tried with its chunk CRCs recomputed, so that the damage gets
past Pillow's CRC check into the decoders (the project's own 16-bit PNG reader, the eXIf
chunk finder).

Why: a damaged file must be reported as bad input, one line naming the file, whatever the
decoder underneath (Pillow, imagecodecs, tifffile, the project's own PNG reader) does with it.

* In process, ``images.load`` must return a Picture or raise ``ResampleError``; a Picture
  that loads must also resize or raise ``ResampleError``.  Any other exception is a
  failure; all failures are collected and reported by
  exception type, with the format and damage of one example each.  (A hang shows as a run
  that never ends: the command-line runs below are bounded by their process timeouts.)
* On the command line, a folder of damaged files must convert what it can, name every file
  that failed on a ``resample: error:`` line, print no traceback or "internal error", start
  every file, exit with 1, write only outputs that open (with Pillow; float TIFF with
  tifffile), and, being run with -q, print nothing on stderr but its own lines.

Everything is generated at run time from a fixed seed, so a failure reproduces exactly.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import zlib
from collections import defaultdict

import numpy as np
import pytest
from PIL import Image

from resample import ResampleError
from resample.formats import images

pytestmark = pytest.mark.slow      # (see pyproject.toml's markers)

skimage_data = pytest.importorskip("skimage.data")
tifffile = pytest.importorskip("tifffile")

SEED = 20240607
MUTANTS_PER_SOURCE = 80
ODD_HEIGHT, ODD_WIDTH = 41, 47  # about 48 x 40, odd: even sizes hide off-by-one errors


# --------------------------------------------------------------------------------------------
# Sources: small real photos in every format.

def _shrink(a, height=ODD_HEIGHT, width=ODD_WIDTH):
    """A crop of the photo's middle, shrunk by striding to about ``height`` x ``width``."""
    h, w = a.shape[:2]
    step = max(1, min(h // (height * 2), w // (width * 2)))
    top = (h - height * step) // 2
    left = (w - width * step) // 2
    return np.ascontiguousarray(a[top:top + height * step:step, left:left + width * step:step])


def _pillow_bytes(array, fmt, mode=None, **kwargs):
    buf = io.BytesIO()
    im = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _tiff_bytes(array, **kwargs):
    buf = io.BytesIO()
    tifffile.imwrite(buf, array, **kwargs)
    return buf.getvalue()


def _png16_bytes(array):
    buf = io.BytesIO()
    images.write_png(buf, array)
    return buf.getvalue()


def _make_sources():
    """{name: (file extension, bytes)} for every source format."""
    astronaut = _shrink(skimage_data.astronaut())                     # RGB uint8
    coffee = _shrink(skimage_data.coffee())                           # RGB uint8
    camera = _shrink(skimage_data.camera())                           # grey uint8
    chelsea = _shrink(skimage_data.chelsea())                         # RGB uint8
    rgba = np.dstack([coffee, camera])                                # alpha: a real picture too
    # 16-bit samples whose low byte is not a copy of the high byte: a reader that drops to 8
    # bits, or swaps bytes, shows.
    ramp = np.arange(ODD_WIDTH, dtype=np.uint32)[:, None]
    rgb16 = np.minimum(astronaut.astype(np.uint32) * 257 + ramp, 65535).astype(np.uint16)
    grey16 = camera.astype(np.uint16) * 257
    rgb_float = (chelsea.astype(np.float32) / 255.0)
    grey_float = (camera.astype(np.float32) / 255.0)

    exif = Image.Exif()
    exif[0x010F] = "FuzzCam"                                          # Make
    exif[0x0110] = "Model 1"                                          # Model

    return {
        "png8_rgb": (".png", _pillow_bytes(astronaut, "PNG")),
        "png8_rgba": (".png", _pillow_bytes(rgba, "PNG")),
        "png16_rgb": (".png", _png16_bytes(rgb16)),
        "png16_grey": (".png", _png16_bytes(grey16)),
        "png_exif": (".png", _pillow_bytes(coffee, "PNG", exif=exif)),
        "jpeg": (".jpg", _pillow_bytes(coffee, "JPEG", quality=90, exif=exif)),
        "tiff_lzw": (".tif", _tiff_bytes(astronaut, compression="lzw", photometric="rgb")),
        "tiff_zlib": (".tif", _tiff_bytes(chelsea, compression="zlib", photometric="rgb")),
        "tiff_tiled": (".tif", _tiff_bytes(coffee, tile=(16, 16), photometric="rgb")),
        "tiff16_rgb": (".tif", _tiff_bytes(rgb16, compression="zlib", photometric="rgb")),
        "tiff_float_rgb": (".tif", _tiff_bytes(rgb_float, compression="zlib",
                                                photometric="rgb")),
        "tiff_float_grey": (".tif", _tiff_bytes(grey_float, compression="lzw",
                                                 photometric="minisblack")),
        "webp": (".webp", _pillow_bytes(chelsea, "WEBP", quality=80)),
        "gif": (".gif", _pillow_bytes(astronaut, "GIF", mode="P")),
        "bmp": (".bmp", _pillow_bytes(camera, "BMP")),
    }


# --------------------------------------------------------------------------------------------
# Mutations: each takes (rng, data) and returns damaged bytes.

_BIG = (0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10000000, 0x0000FFFF, 0x00010000, 0x40000000)


def _truncate(rng, data):
    return data[:rng.randrange(1, len(data))]


def _bit_flips(rng, data):
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def _header_limit(rng, data):
    return min(len(data), rng.choice((64, 128, 256)))


def _header_bit_flips(rng, data):
    out = bytearray(data)
    limit = _header_limit(rng, data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(limit)
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def _header_byte(rng, data):
    out = bytearray(data)
    limit = _header_limit(rng, data)
    for _ in range(rng.randint(1, 3)):
        out[rng.randrange(limit)] = rng.choice((0x00, 0xFF, rng.randrange(256)))
    return bytes(out)


def _header_big_int(rng, data):
    out = bytearray(data)
    limit = _header_limit(rng, data)
    i = rng.randrange(max(1, limit - 4))
    value = rng.choice(_BIG + (rng.randrange(1 << 32),))
    order = rng.choice(("big", "little"))
    out[i:i + 4] = value.to_bytes(4, order)
    return bytes(out)


def _duplicate_run(rng, data):
    start = rng.randrange(len(data))
    length = rng.randint(1, max(1, min(512, len(data) - start)))
    at = rng.randrange(len(data) + 1)
    return data[:at] + data[start:start + length] + data[at:]


def _remove_run(rng, data):
    start = rng.randrange(len(data))
    length = rng.randint(1, max(1, min(512, len(data) - start)))
    return data[:start] + data[start + length:]


MUTATIONS = {
    "truncate": _truncate,
    "bit_flips": _bit_flips,
    "header_bit_flips": _header_bit_flips,
    "header_byte": _header_byte,
    "header_big_int": _header_big_int,
    "duplicate_run": _duplicate_run,
    "remove_run": _remove_run,
}
# Header damage finds the most distinct failures: it gets more turns than the rest.
_WEIGHTED_KINDS = (["truncate", "bit_flips", "duplicate_run", "remove_run"]
                   + ["header_bit_flips", "header_byte", "header_big_int"] * 2)


def _fix_png_crcs(data):
    """The PNG with every whole chunk's CRC recomputed, so that damage inside a chunk reaches
    the decoders instead of stopping at Pillow's CRC check."""
    out = bytearray(data)
    pos = 8
    while pos + 12 <= len(out):
        length = int.from_bytes(out[pos:pos + 4], "big")
        end = pos + 8 + length
        if end + 4 > len(out):
            break
        out[end:end + 4] = zlib.crc32(bytes(out[pos + 4:end])).to_bytes(4, "big")
        pos = end + 4
    return bytes(out)


def _mutants(name, data, count):
    """``count`` deterministic (kind, bytes) mutants of ``data``; unchanged ones are skipped.
    A PNG's mutants come twice: as damaged, and with the chunk CRCs made right again."""
    rng = random.Random(f"{SEED}:{name}")
    is_png = data.startswith(b"\x89PNG\r\n\x1a\n")
    out = []
    made = tries = 0
    while made < count and tries < count * 10:
        tries += 1
        kind = rng.choice(_WEIGHTED_KINDS)
        damaged = MUTATIONS[kind](rng, data)
        if damaged and damaged != data:
            made += 1
            out.append((kind, damaged))
            if is_png:
                fixed = _fix_png_crcs(damaged)
                if fixed not in (damaged, data):
                    out.append((kind + "+crc", fixed))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Sources and mutants on disk: {"sources": {name: path}, "mutants": [(name, kind, path)]}."""
    root = tmp_path_factory.mktemp("fuzz")
    sources, mutants = {}, []
    for name, (ext, data) in _make_sources().items():
        src = root / f"{name}{ext}"
        src.write_bytes(data)
        sources[name] = src
        for i, (kind, damaged) in enumerate(_mutants(name, data, MUTANTS_PER_SOURCE)):
            path = root / f"{name}-{i:02d}-{kind}{ext}"
            path.write_bytes(damaged)
            mutants.append((name, kind, path))
    return {"root": root, "sources": sources, "mutants": mutants}


# --------------------------------------------------------------------------------------------
# In process.

def _check_one(path):
    """None when ``path`` loads and its pixels resize, or either fails with ResampleError;
    else ``(what failed, message)``."""
    import resample

    stage = "load"
    try:
        pic = images.load(path)
        if not isinstance(pic, images.Picture) or not isinstance(pic.array, np.ndarray) \
                or pic.array.ndim not in (2, 3):
            shape = getattr(getattr(pic, "array", None), "shape", None)
            return "bad Picture from load", f"{type(pic).__name__}, array shape {shape}"
        stage = f"resize of {pic.array.dtype} {pic.array.shape}"
        resample.resize(pic.array, scale=0.5)
    except ResampleError:
        return None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:   # noqa: BLE001  (anything else is the finding)
        return f"{type(exc).__name__} in {stage.split(' ')[0]}", f"{stage}: {exc}"
    return None


def _report(failures, total):
    """One line per class of failure: its count, its formats, and one example."""
    by_class = defaultdict(list)
    for fmt, kind, path, label, message in failures:
        by_class[label].append((fmt, kind, path, message))
    lines = [f"{len(failures)} of {total} damaged files failed badly:"]
    for label, items in sorted(by_class.items(), key=lambda kv: -len(kv[1])):
        fmt, kind, path, message = items[0]
        formats = sorted({item[0] for item in items})
        lines.append(f"  {label}: {len(items)} (formats: {', '.join(formats)}); e.g. {fmt} "
                     f"{kind} ({os.path.basename(path)}): {message[:100]!r}")
    return "\n".join(lines)


def test_damaged_files_load_or_fail_cleanly(corpus):
    # The undamaged sources must load: otherwise fuzzing that format proves nothing.  A source
    # that does not is reported with the rest, and the other formats are still fuzzed.
    failures = []
    for name, path in corpus["sources"].items():
        try:
            size = images.load(path).size
            if size != (ODD_WIDTH, ODD_HEIGHT):
                failures.append((name, "undamaged", path, "undamaged source: wrong size",
                                 f"{size}, not {(ODD_WIDTH, ODD_HEIGHT)}"))
        except Exception as exc:   # noqa: BLE001
            failures.append((name, "undamaged", path, "undamaged source does not load",
                             f"{type(exc).__name__}: {exc}"))

    for fmt, kind, path in corpus["mutants"]:
        found = _check_one(path)
        if found is not None:
            failures.append((fmt, kind, path) + found)
    assert not failures, _report(failures, len(corpus["mutants"]))


# --------------------------------------------------------------------------------------------
# On the command line: a folder of damaged files.

_CLI_PER_SOURCE = 3   # about 45 mutants


def _open_output(path):
    """Open an output with Pillow.  Pillow has no mode for multi-sample float TIFF (which the
    library writes for float RGB input): such a TIFF must then open with tifffile."""
    try:
        with Image.open(path) as im:
            im.load()
            return im.size
    except Exception:   # noqa: BLE001
        if path.suffix.lower() not in (".tif", ".tiff"):
            raise
        with tifffile.TiffFile(path) as tif:
            if tif.pages[0].dtype != np.float32:
                raise
            a = tif.asarray()
        return a.shape[1], a.shape[0]


def test_folder_of_damaged_files(corpus, tmp_path):
    src_dir = tmp_path / "in"
    out_dir = tmp_path / "out"
    src_dir.mkdir()
    by_format = defaultdict(list)
    for fmt, kind, path in corpus["mutants"]:
        by_format[fmt].append(path)
    for fmt, paths in by_format.items():
        # An even spread over each format's mutants, to mix the kinds of damage.
        for path in paths[::max(1, len(paths) // _CLI_PER_SOURCE)][:_CLI_PER_SOURCE]:
            (src_dir / path.name).write_bytes(path.read_bytes())
    # Files known to be corrupt: a bare signature, a header with nothing after it, garbage.
    png_data = corpus["sources"]["png8_rgb"].read_bytes()
    (src_dir / "known-signature-only.png").write_bytes(png_data[:8])
    (src_dir / "known-ihdr-only.png").write_bytes(png_data[:33])
    (src_dir / "known-garbage.jpg").write_bytes(bytes(random.Random(SEED).randbytes(300)))
    # Two good files, which must convert.
    for name in ("png8_rgb", "jpeg"):
        good = corpus["sources"][name]
        (src_dir / f"good-{good.name}").write_bytes(good.read_bytes())
    inputs = sorted(p.name for p in src_dir.iterdir())

    try:
        proc = subprocess.run(
            [sys.executable, "-m", "resample", str(src_dir), "-o", str(out_dir),
             "--scale", "0.5", "-q"],
            capture_output=True, text=True, timeout=120, env=dict(os.environ))
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"resample on a folder of {len(inputs)} damaged files did not finish in "
                    f"120 s; stderr so far: {(exc.stderr or b'')[-2000:]!r}")

    stderr = proc.stderr
    tail = stderr[-3000:]
    assert proc.returncode == 1, f"exit code {proc.returncode}; stderr:\n{tail}"
    assert "Traceback" not in stderr, tail
    assert "internal error" not in stderr, \
        "\n".join(line for line in stderr.splitlines() if "internal error" in line)[:3000]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    summary = lines[-1]
    assert "converted" in summary and "failed" in summary, summary
    assert "not started" not in summary, summary

    outputs = {p.name for p in out_dir.iterdir()} if out_dir.exists() else set()
    failed = [name for name in inputs if name not in outputs]
    named = {name: [line for line in lines if f"{os.sep}{name}:" in line] for name in failed}
    unnamed = [name for name, found in named.items() if not found]
    assert not unnamed, f"inputs with no output, not named on stderr: {unnamed}\n{tail}"
    # Each on a line of its own: a decoder's messages (libtiff writes straight to stderr from
    # the decoding threads) must not be spliced into, or in front of, the error lines.
    spliced = {name: found for name, found in named.items()
               if not any(line.startswith("resample: error:") for line in found)}
    assert not spliced, ("inputs whose error is not on a line starting 'resample: error:' "
                         "(other output on stderr mixed in):\n"
                         + "\n".join(f"  {found[0][:200]}" for found in spliced.values()))
    counts = dict(zip(("converted", "failed"), (None, None)))
    for word in counts:
        before = summary.split(f" {word}")[0].split()
        counts[word] = int(before[-1]) if before and before[-1].isdigit() else None
    assert counts == {"converted": len(outputs), "failed": len(failed)}, (summary, counts)
    for good in ("good-png8_rgb.png", "good-jpeg.jpg"):
        assert good in outputs, f"{good} was not converted\n{tail}"

    unreadable = []
    for name in sorted(outputs):
        try:
            _open_output(out_dir / name)
        except Exception as exc:   # noqa: BLE001
            unreadable.append(f"{name}: {type(exc).__name__}: {str(exc)[:100]}")
    assert not unreadable, "outputs that cannot be opened:\n" + "\n".join(unreadable)

    # -q prints nothing but errors, each as one "resample: ..." line.  Decoders' own messages
    # (libtiff's C warnings, tifffile's log records) on stderr break that, and, written from
    # the decoding threads, are at times spliced into an error line (checked above; that race
    # shows in some runs only, these stray lines in every run).
    stray = [line for line in lines if not line.startswith("resample: ")]
    assert not stray, (f"{len(stray)} lines on stderr that are not resample's:\n"
                       + "\n".join(f"  {line[:150]}" for line in stray[:15]))


# --------------------------------------------------------------------------------------------
# The newer surfaces: frames, pages, tiles (streamed) and Zarr metadata.

_SURFACE_MUTANTS = 14


def _surface_sources():
    """{name: (extension, bytes, output format: the input's)}: animations of 3 frames, a
    TIFF of 3 pages and a tiled TIFF read by the streaming reader."""
    frames = [_shrink(a) for a in (skimage_data.astronaut(), skimage_data.coffee(),
                                   skimage_data.chelsea())]
    ims = [Image.fromarray(a) for a in frames]

    def animation(fmt, **kwargs):
        buf = io.BytesIO()
        ims[0].save(buf, format=fmt, save_all=True, append_images=ims[1:],
                    duration=[50, 60, 70], loop=0, **kwargs)
        return buf.getvalue()

    pages = io.BytesIO()
    with tifffile.TiffWriter(pages) as tif:
        for a in frames:
            tif.write(a, photometric="rgb", compression="zlib", metadata=None,
                      contiguous=False)
    return {
        "gif3": (".gif", animation("GIF"), "gif"),
        "apng3": (".png", animation("PNG"), "png"),
        "webp3": (".webp", animation("WEBP", lossless=True), "webp"),
        "tiff3": (".tif", pages.getvalue(), "tif"),
        "tiff_tiled_stream": (".tif", _tiff_bytes(frames[0], tile=(16, 16), photometric="rgb",
                                                  compression="zlib"), "tif"),
    }


def test_damaged_frames_pages_and_tiles_fail_cleanly(tmp_path):
    """Mutated animations, multi-page TIFFs and tiled TIFFs (streamed), a folder run a
    source under a 4 GB address-space limit: each file converts or fails on one line of its
    own, nothing else reaches stderr, and the run ends (frame and page counts, canvases and
    tile sizes a header may declare are bounded before anything is decoded)."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    for name, (ext, data, fmt) in _surface_sources().items():
        folder, out = tmp_path / name, tmp_path / f"{name}-out"
        folder.mkdir()
        (folder / f"good{ext}").write_bytes(data)
        for i, (kind, damaged) in enumerate(_mutants(name, data, _SURFACE_MUTANTS)):
            (folder / f"{i:02d}-{kind}{ext}").write_bytes(damaged)
        extra = ["--stream"] if name.endswith("_stream") else []
        try:
            proc = subprocess.run([sys.executable, "-m", "resample", str(folder), "-o",
                                   str(out), "--scale", "0.5", "-q", *extra],
                                  capture_output=True, text=True, timeout=300,
                                  preexec_fn=limit)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name}: a folder of damaged files did not finish in 300 s")
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode in (0, 1), (name, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, \
            (name, proc.stderr[-2000:])
        assert all(line.startswith("resample: ") for line in lines), (name, lines[:10])
        assert (out / f"good.{fmt}").exists(), (name, proc.stderr[-2000:])


def test_damaged_zarr_metadata_fails_cleanly(tmp_path):
    """A Zarr array's zarr.json with its numbers, shapes and names damaged: the resize
    succeeds or raises ResampleError, never anything else, and no huge allocation (numbers
    up to 2^62 are tried)."""
    zarr = pytest.importorskip("zarr")
    import json

    from resample.jobs import convert

    good = tmp_path / "good.zarr"
    z = zarr.create_array(store=str(good), shape=(41, 47, 3), chunks=(16, 16, 3),
                          dtype=np.uint8)
    z[:] = _shrink(skimage_data.astronaut())
    meta = json.loads((good / "zarr.json").read_text())
    rng = random.Random(SEED)
    values = (0, -1, 1, 2**31, 2**62, 3.5, "x", None, [], {})

    def paths_of(node, path=()):
        items = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else ()
        for key, value in items:
            yield [*path, key]
            yield from paths_of(value, (*path, key))

    def damaged(doc):
        doc = json.loads(json.dumps(doc))
        for _ in range(rng.randint(1, 3)):
            paths = list(paths_of(doc))
            if not paths:
                break
            path = rng.choice(paths)
            node = doc
            for key in path[:-1]:
                node = node[key]
            if rng.random() < 0.2 and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                try:
                    node[path[-1]] = rng.choice(values)
                except (IndexError, KeyError, TypeError):
                    pass
        return doc

    failures = []
    for i in range(60):
        store = tmp_path / f"m{i:02d}.zarr"
        import shutil

        shutil.copytree(good, store)
        text = json.dumps(damaged(meta)) if i % 6 else (good / "zarr.json").read_text()[
            :rng.randrange(1, 200)]
        (store / "zarr.json").write_text(text)
        try:
            convert.convert_file(str(store), str(tmp_path / f"o{i:02d}.png"),
                                 convert.Options(scale=0.5))
        except ResampleError:
            pass
        except Exception as exc:   # noqa: BLE001 (anything else is the finding)
            failures.append(f"{store.name}: {type(exc).__name__}: {str(exc)[:120]}")
    assert not failures, "\n".join(failures)
