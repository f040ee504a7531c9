"""Image files without their pixels: formats by extension, the metadata carried from input to
output, and writing atomically (a new file appears whole or not at all, and a run killed
outright leaves nothing that the next run into that folder does not clean up).  No NumPy here:
the plain job (resample/jobs/plain.py) uses this module."""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import re
import stat
import threading
import zlib
from typing import NamedTuple, Optional

from PIL import Image

try:
    import fcntl                   # POSIX: temporary outputs are locked while written
except ImportError:                # Windows: not locked
    fcntl = None

from ..errors import ResampleError, excerpt
from . import png

EXIF_ORIENTATION = 0x0112
_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
            ".webp": "WEBP", ".bmp": "BMP", ".gif": "GIF", ".ppm": "PPM", ".pgm": "PPM",
            ".tga": "TGA", ".avif": "AVIF", ".zarr": "ZARR"}
EIGHT_BIT_ONLY = ("JPEG", "WEBP", "AVIF", "BMP", "GIF", "TGA")
LOSSY = ("JPEG", "WEBP", "AVIF")      # the formats --quality applies to
NO_ALPHA = ("JPEG", "BMP", "PPM")     # alpha is flattened onto white for these
DEFAULT_QUALITY = 95


ZARR_METADATA = ("zarr.json", ".zarray", ".zgroup")


POINT_EXTENSIONS = (".csv", ".tsv")


# HEIC and HEIF (phones' photos): ISO base media files of these brands, read through
# pillow-heif where it is installed (the [heif] extra), registered the first time one is met.
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


def is_heif(path):
    """Whether the file at ``path`` starts as a HEIC/HEIF image does."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


@functools.lru_cache(maxsize=None)
def enable_heif():
    """Let Pillow open HEIC/HEIF files (pillow-heif's opener); False without pillow-heif."""
    try:
        import pillow_heif  # optional: the [heif] extra
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def open_heif(path):
    """Pillow's image of the HEIC/HEIF file ``path``, or a one-line error naming the extra."""
    if not enable_heif():
        raise ResampleError("a HEIC/HEIF image: reading it needs pillow-heif (pip install "
                            "'resample-images[heif]')")
    return Image.open(path)


def is_points(path):
    """A point-cloud CSV, by its name."""
    return os.fspath(path).lower().endswith(POINT_EXTENSIONS)


def is_zarr(path):
    """A Zarr store (a folder named .zarr, or holding Zarr's metadata)."""
    path = os.fspath(path)
    return path.rstrip("/\\").lower().endswith(".zarr") or holds_zarr_metadata(path)


def holds_zarr_metadata(path):
    """Whether the folder ``path`` is a Zarr store: Zarr's metadata at its top."""
    return os.path.isdir(path) and any(os.path.isfile(os.path.join(path, name))
                                       for name in ZARR_METADATA)


def check_zarr_output(dst, src=None, overwrite=False):
    """Refuse, before any work, a Zarr output that would replace what the user did not name
    for replacement: an existing output is replaced only with ``overwrite``, only when it is
    a Zarr store itself (never a folder of other files), and never when it holds the input
    ``src``.  (The new store is written beside it and swapped in only once complete.)"""
    path = os.path.abspath(os.fspath(dst)).rstrip("/\\")
    if not os.path.lexists(path):
        return
    if src is not None and _within(os.path.abspath(os.fspath(src)), path):
        raise ResampleError(f"{dst}: holds the input; write the Zarr output elsewhere")
    if not os.path.isdir(path) or os.path.islink(path):
        kind = ("a symbolic link" if os.path.islink(path) else "a file"
                if os.path.isfile(path) else "not a folder")
        raise ResampleError(f"{dst}: exists and is {kind}, not a Zarr store; not replaced")
    if not holds_zarr_metadata(path):
        raise ResampleError(f"{dst}: exists and is a folder that is not a Zarr store; not "
                            "replaced (even with --overwrite)")
    other = _not_zarr_entries(path)
    if other:
        raise ResampleError(f"{dst}: a Zarr store that also holds {excerpt(other[0])}, which "
                            "is not Zarr's; not replaced (even with --overwrite)")
    if not overwrite:
        raise ResampleError(f"{dst}: exists (a Zarr store); pass --overwrite to replace it")


_ZARR_NAMES = re.compile(r"^(zarr\.json|\.zarray|\.zgroup|\.zattrs|\.zmetadata|"
                         r"[0-9]+([./][0-9]+)*)$")


def _not_zarr_entries(path):
    """The entries at the top of a Zarr store that Zarr did not make (a user's file beside
    the arrays): not metadata, not a chunk (digits and separators), not a folder."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return []
    return sorted(e.name for e in entries if not e.name.startswith(".resample-")
                  and not e.is_dir(follow_symlinks=False) and not _ZARR_NAMES.match(e.name))


def _within(path, folder):
    """Whether ``path`` lies in ``folder`` (both absolute), by their real paths."""
    real, top = os.path.realpath(path), os.path.realpath(folder)
    try:
        return os.path.commonpath([real, top]) == top
    except ValueError:                 # different drives
        return False


def not_a_file(path):
    """Why ``path`` is not to be opened as an input file (it is missing, a folder, a FIFO, a
    device or a socket: reading one could block, or never end), or None for a regular file
    (through its links)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return exc.strerror or "cannot be read"
    if stat.S_ISREG(mode):
        return None
    kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device")
    return f"not a regular file ({kind})"


def output_format(path):
    """The file format for an output path, from its extension (a Zarr store's name may end
    in a folder separator)."""
    path = os.fspath(path)
    stripped = path.rstrip("/\\")
    if stripped.lower().endswith(".zarr"):
        path = stripped
    ext = os.path.splitext(path)[1].lower()
    if ext not in _FORMATS:
        raise ResampleError(f"{path}: unknown output format {ext or '(no extension)'!r}; "
                            f"use one of: {', '.join(sorted(_FORMATS))}")
    return _FORMATS[ext]


# The largest side each format can hold (PNG and TIFF: beyond any memory).
FORMAT_MAX_SIDE = {"JPEG": 65500, "WEBP": 16383, "AVIF": 65536, "GIF": 65535, "TGA": 65535,
                   "BMP": 2**31 - 1,
                   "PPM": 2**31 - 1, "PNG": 2**31 - 1, "TIFF": 2**32 - 1, "ZARR": 2**62}


def check_size(fmt, width, height):
    """Refuse, before any work, an output larger than its format can hold."""
    top = FORMAT_MAX_SIDE[fmt]
    if width > top or height > top:
        raise ResampleError(f"a {width}x{height} image is too large for {fmt} "
                            f"(at most {top} pixels a side); use .png or .tif")


def read_exif(path, im):
    """The EXIF of the Pillow image ``im`` opened from ``path``.  For a PNG, found without
    decoding the pixels: Pillow's getexif decodes the whole image to look for an eXIf chunk
    after them."""
    if im.format != "PNG" or "exif" in im.info:
        return im.getexif()


    exif = Image.Exif()
    raw = png.exif_chunk(path)
    if raw:
        exif.load(raw)
    return exif


class Metadata(NamedTuple):
    """What an input carries to its output: the EXIF orientation (1-8, applied to the pixels,
    not carried), the ICC profile, DPI, and the rest of the EXIF as bytes."""

    orientation: int
    icc: Optional[bytes]
    dpi: Optional[tuple]
    exif: Optional[bytes]


def read_metadata(path, im):
    """The :class:`Metadata` of the Pillow image ``im`` opened from ``path`` (before decoding:
    a decoder may change ``im.info``)."""
    exif = read_exif(path, im)
    orientation = exif.pop(EXIF_ORIENTATION, 1)
    # A TIFF's "EXIF" is its own directory (strip offsets and all): never carry it elsewhere.
    carried = exif.tobytes() if len(exif) and im.format != "TIFF" else None
    if orientation != 1:
        exif[EXIF_ORIENTATION] = orientation      # (Pillow's own: a TIFF is turned by it)
        if im.format == "TIFF" and pillow_turns_tiffs():
            orientation = 1                       # its pixels come turned
    dpi = im.info.get("dpi")
    return Metadata(orientation, im.info.get("icc_profile"),
                    tuple(float(d) for d in dpi) if dpi else None, carried)


@functools.lru_cache(maxsize=None)
def pillow_turns_tiffs():
    """Whether this Pillow applies a TIFF's Orientation tag as it loads the pixels (and gives
    the turned size before): newer releases do, older ones leave it to the reader."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 2                    # mirrored left to right
    buffer = io.BytesIO()
    Image.frombytes("L", (2, 1), b"\x00\xff").save(buffer, "TIFF", exif=exif)
    buffer.seek(0)
    with Image.open(buffer) as im:
        im.load()
        return im.tobytes() == b"\xff\x00"


def deep_tiff(im):
    """Whether the Pillow image ``im`` is a TIFF of several samples per pixel that are deeper
    than 8 bits or floats, which Pillow reduces to 8 bits: both jobs leave it to tifffile."""
    if im.format != "TIFF":
        return False
    tags = im.tag_v2
    as_tuple = lambda v: v if isinstance(v, tuple) else (v,)   # noqa: E731
    bits = as_tuple(tags.get(258, 8))                # BitsPerSample
    float_samples = 3 in as_tuple(tags.get(339, 1))  # SampleFormat 3: IEEE float
    return tags.get(277, 1) > 1 and (max(bits) > 8 or float_samples)   # SamplesPerPixel


def icc_description(icc):
    """The description of an ICC profile (bytes): its 'desc' tag, ICC v2 text or v4 'mluc'
    (the first record); '' where it has none or the profile is damaged.  Read from the
    bytes, as LittleCMS reads it, without loading LittleCMS."""
    def u32(b, at):
        return int.from_bytes(b[at:at + 4], "big")
    try:
        for k in range(min(u32(icc, 128), 256)):              # the tag table
            at = 132 + 12 * k
            if icc[at:at + 4] != b"desc":
                continue
            tag = icc[u32(icc, at + 4):u32(icc, at + 4) + u32(icc, at + 8)]
            if tag[:4] == b"desc":                           # v2: counted ASCII
                text = tag[12:12 + u32(tag, 8)].split(b"\0")[0].decode("latin-1")
            elif tag[:4] == b"mluc" and u32(tag, 8) > 0:     # v4: UTF-16BE records
                text = tag[u32(tag, 24):u32(tag, 24) + u32(tag, 20)].decode("utf-16-be")
            else:
                return ""
            return text.split("\0")[0].strip()
    except (UnicodeDecodeError, TypeError):
        return ""
    return ""


def is_srgb(icc):
    """Whether an ICC profile (bytes) is sRGB by its name (None: no profile, taken as sRGB)."""
    return not icc or b"sRGB" in icc[:1024] or icc_description(icc).startswith("sRGB")


def linear_light_notes(icc):
    """A note when ``--linear`` meets an ICC profile (bytes) that is not sRGB: the sRGB curve
    is used (and the profile carried), which is right for profiles with sRGB's curve
    (Display P3) and approximate for others (Adobe RGB's is a 2.2 power)."""
    if is_srgb(icc):
        return []
    name = icc_description(icc) or "not sRGB"
    return [f"--linear: the image's ICC profile ({name[:40]}) is not sRGB; its colours were "
            "linearised with the sRGB curve all the same"]


# Pillow modes that are converted on reading, to what: the pixels are kept as grey, RGB
# (with alpha or without), 16- or 32-bit integers or floats.
_CONVERT = {"1": "L", "P": "RGB", "PA": "RGBA", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB",
            "HSV": "RGB", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB", "I;16B": "I;16",
            "I;16L": "I;16", "I;16N": "I;16"}


def reading_mode(im):
    """The mode the Pillow image ``im`` is converted to when read (a palette with a
    transparent entry to RGBA, CMYK to RGB, ...), or None where its own is kept; both jobs
    convert by it (resample.formats.images, resample.jobs.plain)."""
    if im.mode == "P" and "transparency" in im.info:
        return "RGBA"
    return _CONVERT.get(im.mode)


def pillow_save_options(fmt, icc, dpi, exif, quality):
    """Keyword arguments for Pillow's ``save`` in ``fmt``: the metadata the format holds, and
    the quality (1-100; None: DEFAULT_QUALITY) for JPEG, WebP and AVIF."""
    kwargs = {}
    if icc and fmt in ("PNG", "JPEG", "TIFF", "WEBP", "AVIF"):
        kwargs["icc_profile"] = icc
    if dpi and fmt in ("PNG", "JPEG", "TIFF", "BMP"):
        kwargs["dpi"] = dpi
    if exif and fmt in ("PNG", "JPEG", "WEBP", "TIFF", "AVIF"):
        kwargs["exif"] = exif
    if fmt in LOSSY:
        kwargs["quality"] = DEFAULT_QUALITY if quality is None else int(quality)
    return kwargs


# The extension Pillow knows each format we write by.
_PILLOW_EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "AVIF": ".avif",
                      "TIFF": ".tif",
                      "BMP": ".bmp", "GIF": ".gif", "TGA": ".tga", "PPM": ".ppm"}


class _Named:
    """A file object under another name (Pillow reads the format from it)."""

    def __init__(self, f, name):
        self._f, self.name = f, name

    def __getattr__(self, attr):
        return getattr(self._f, attr)


def pillow_save(im, f, fmt, **options):
    """Pillow's ``im.save`` into the open file ``f`` in ``fmt``.  Given ``format=``, Pillow
    first loads its five common plugins (5 ms, a tenth of a small file's time); given a name,
    only the plugin of its extension: so the file goes under a name of ``fmt``'s extension."""
    if fmt in _PILLOW_EXTENSIONS:
        im.save(_Named(f, "output" + _PILLOW_EXTENSIONS[fmt]), **options)
    else:
        im.save(f, format=fmt, **options)


# Outputs are written to ".resample-HOST-PID-RANDOM.part" in their folder, locked (flock)
# while written, then renamed.  A process killed outright (kill -9, power loss) leaves its
# temporary file behind: the next write into that folder removes those of this host's
# processes that no longer run and whose lock is free.
_PART = re.compile(r"^\.resample-(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[^/]*\.part$")
_cleaned = set()
_cleaned_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _host_tag():
    """This host, as a file-name-safe tag: the host name's letters, digits and underscores,
    and a short hash of the whole name (so node-1 and node.1 differ)."""
    name = os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")
    digest = f"{zlib.crc32(name.encode('utf-8', 'surrogateescape')):08x}"
    return re.sub(r"[^A-Za-z0-9]", "_", name)[:48] + "_" + digest


def _lock(fd, blocking=True):
    """An exclusive lock on an open file (True if taken); without fcntl (Windows), True."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except OSError:
        return False


@contextlib.contextmanager
def atomic_output(path, binary=True):
    """Write ``path`` all at once: yields a file object for a new temporary file in its
    folder (locked while written); when the block ends it replaces ``path``, and on any
    failure or interruption it is removed.  Stale temporary files of dead processes in that
    folder are removed first (once per folder and process).  A full disk (or a file too
    large for the file system) is a one-line ResampleError."""
    folder = os.path.dirname(os.path.abspath(path))
    remove_stale_parts(folder)
    fd, tmp = _new_part(folder)
    _active_parts.add(tmp)
    try:
        _lock(fd)                   # held on this descriptor until the rename is done
        # Opened again by name: some writers (tifffile) want a file object with a name.
        with open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8") as f:
            yield f
        os.fchmod(fd, file_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        _unlink(tmp)
        full = disk_full(exc)
        if full:
            raise ResampleError(f"{path}: {full}") from None
        raise
    finally:
        _active_parts.discard(tmp)
        os.close(fd)


_FULL = {28: "no space left on the device", 27: "the file is too large for the file system",
         122: "the disk quota is exceeded"}          # ENOSPC, EFBIG, EDQUOT (Linux numbers)


def disk_full(exc):
    """What a write error says of the disk ("no space left on the device", ...), or None
    where ``exc`` is no such error (the errno names are read from the platform's table)."""
    if not isinstance(exc, OSError):
        return None
    if exc.errno is None and "requested and" in str(exc) and "written" in str(exc):
        return ("it could not be written whole (the disk is full, or a file size limit was "
                "reached)")                   # a short write, as tifffile reports it
    names = {getattr(errno, "ENOSPC", 28): _FULL[28], getattr(errno, "EFBIG", 27): _FULL[27],
             getattr(errno, "EDQUOT", 122): _FULL[122]}
    return names.get(exc.errno)


# The temporary files and folders this process is writing now: an exit that cannot wait for
# a writer (resample.jobs.console.exit_now) removes them.
_active_parts = set()


def remove_active_parts():
    """Remove the temporary outputs this process is writing (for an exit that cannot wait)."""
    for path in list(_active_parts):
        _remove(path)


def hold_temporary(path):
    """Note a temporary file or folder of this process's, removed by an exit that cannot wait
    (:func:`remove_active_parts`) as well as by its owner."""
    _active_parts.add(path)


def release_temporary(path):
    _active_parts.discard(path)


def new_part_folder(folder):
    """A new temporary folder in ``folder``, named as the temporary files and locked (flock on
    the folder itself) while this process lives: ``(descriptor, path)``.  Close the
    descriptor when the folder is renamed or removed."""
    prefix = f".resample-{_host_tag()}-{os.getpid()}-"
    for _ in range(100):
        path = os.path.join(folder, prefix + os.urandom(6).hex() + ".part")
        try:
            os.mkdir(path, folder_mode())
        except FileExistsError:
            continue
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        _lock(fd)
        _active_parts.add(path)
        return fd, path
    raise FileExistsError(f"no free temporary name in {folder}")


def end_part_folder(fd, path):
    """Forget the temporary folder ``path`` (renamed or removed) and close its lock."""
    _active_parts.discard(path)
    os.close(fd)


def _new_part(folder):
    """A new temporary file (mode 0600) in ``folder``: ``(descriptor, path)``.  (As
    tempfile.mkstemp, whose import would cost the plain job more than this.)"""
    prefix = f".resample-{_host_tag()}-{os.getpid()}-"
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        path = os.path.join(folder, prefix + os.urandom(6).hex() + ".part")
        try:
            return os.open(path, flags, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


def remove_stale_parts(folder):
    """Remove the temporary files that processes of this host, no longer running, left in
    ``folder``.  A process of another host, or a pid now reused, keeps its files: only what
    is certainly dead is removed."""
    real = os.path.realpath(folder)
    with _cleaned_lock:
        if real in _cleaned:
            return
        _cleaned.add(real)
    host = _host_tag()
    try:
        names = [e.name for e in os.scandir(folder) if e.name.startswith(".resample-")]
    except OSError:
        return
    for name in names:
        m = _PART.match(name)
        if m and m["host"] == host and not _alive(int(m["pid"])):
            _remove_if_unlocked(os.path.join(folder, name))


def _remove_if_unlocked(path):
    """Remove a temporary file or folder unless a process holds its lock (a writer in another
    pid namespace of the same host looks dead to kill(pid, 0), but still holds its lock)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        if _lock(fd, blocking=False):
            _remove(path)
    finally:
        os.close(fd)


def _remove(path):
    """Remove a temporary file, or a temporary folder and what it holds (links are removed,
    not followed), ignoring what is already gone.  (Not shutil.rmtree: importing shutil
    costs the plain job 2.5 ms, for a folder it seldom removes.)"""
    if not os.path.isdir(path) or os.path.islink(path):
        _unlink(path)
        return
    for folder, dirs, names in os.walk(path, topdown=False):
        for name in names:
            _unlink(os.path.join(folder, name))
        for name in dirs:
            sub = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                os.unlink(sub) if os.path.islink(sub) else os.rmdir(sub)
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True                   # another user's process, or cannot tell: keep it
    return True


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _read_umask():
    """The process's umask, read from /proc where it can be (setting it to read it is not
    safe while other threads create files or folders), else by setting and restoring it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
_FILE_MODE = 0o666 & ~_UMASK


def file_mode():
    """The mode of a new file under this process's umask."""
    return _FILE_MODE


def folder_mode():
    """The mode of a new folder under this process's umask."""
    return 0o777 & ~_UMASK
