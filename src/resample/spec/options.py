"""The job's spec: what the command line (or a caller of the jobs) asks to be done to each
file, every parameter parsed and checked once, here, and handed down unchanged."""

from __future__ import annotations

from typing import NamedTuple

from .geometry import Geometry, scaled_side
from .methods import Method, get_method


class _Fields(NamedTuple):

    method: Method | str | None = "bilinear"
    scale: float | None = None
    size: str | None = None
    align: str = "centers"
    boundary: str = "truncate"     # as Pillow resizes files
    fill: float = 0.0
    antialias: bool = True
    device: str = "auto"
    quality: int | None = None
    strip: bool = False           # write no metadata
    stream: bool = False          # resize strip by strip where the files allow (resample.jobs.stream)
    exact: bool = False           # decode every pixel (no JPEG DCT scaling, no pyramid level)
    sharpen: bool = False         # a mild sharpening of the output (images.sharpen_mild)
    srgb: bool = False            # convert to sRGB from the input's ICC profile (images.to_srgb)
    exif_thumbnail: bool = False  # start from a JPEG's EXIF thumbnail where it is big enough
    pyramid: bool = False         # a TIFF output gets a pyramid (streams)
    linear: bool = False          # resample in linear light (sRGB decoded, then encoded)
    sigma: object = None          # None: the CSV's sigma columns, else "steered"
    cutoff: float = 3.0
    holes: str = "nearest"
    order: int | None = None      # point clouds: 0, the weighted mean; 1, the weighted plane;
                                  # None: 1 with the steered rule, else 0 (gmm.check_order)
    interpolate: bool | None = None   # point clouds: the image passes through the points;
                                      # None: with the steered rule (gmm.check_interpolate)
    coords: str = "pixel"
    overwrite: bool = False       # an existing output folder (a Zarr store) may be replaced
    points: bool = False          # resize by rebuilding the pixels as Gaussian points (gmm)



class Options(_Fields):
    """What to do to each file: the job's spec, its parameters parsed once.  Images: ``scale``
    or ``size`` (geometry text, parsed into a :class:`Geometry`).  Point clouds: ``size`` as
    plain WxH, or None for the size their coordinates need.  ``quality`` is for JPEG and WebP
    output (1-100; None: 95).  Immutable; :meth:`replace` makes a changed copy.  (A named
    tuple, not a dataclass: the command builds one per run, and dataclasses' import would be
    a tenth of a small file's time.)"""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        spec = _Fields(*args, **kwargs)
        # parsed once, here: below, ``size`` is a Geometry (or None), and ``method`` a Method,
        # or None where the pixels are rebuilt as points (``points``; spelled --method gmm):
        # an operation of its own, not a kernel
        size = spec.size
        if size is not None and not isinstance(size, Geometry):
            size = Geometry.parse(size)
        method, points = spec.method, spec.points
        if isinstance(method, str) and method.lower() == "gmm":
            method, points = None, True
        elif not points:
            method = get_method(method)
        else:
            method = None
        return super().__new__(cls, *spec._replace(size=size, method=method, points=points))

    @property
    def method_name(self):
        """The method's name, as output names carry it ("gmm" for points)."""
        return "gmm" if self.points else self.method.name

    @property
    def resize_method(self):
        """What :func:`resample.resize` is asked for: the Method, or its spelling "gmm"."""
        return "gmm" if self.points else self.method

    def replace(self, **changes):
        """A copy with ``changes`` (parsed as the constructor parses them)."""
        return Options(**{**self._asdict(), **changes})

    def output_size(self, width, height):
        """The output (width, height) of an image of ``width`` x ``height``."""
        if self.size is not None:
            return self.size.size(width, height)
        return tuple(scaled_side(n, self.scale) for n in (width, height))
