"""The job's spec: what the command line (or a caller of the jobs) asks to be done to each
file, every parameter parsed and checked once, here, and handed down unchanged."""

from __future__ import annotations

from dataclasses import dataclass

from .geometry import Geometry, scaled_side
from .methods import Method, get_method


@dataclass(frozen=True)
class Options:
    """What to do to each file: the job's spec, its parameters parsed once.  Images: ``scale``
    or ``size`` (geometry text, parsed into a :class:`Geometry`).  Point clouds:
    ``size`` as plain WxH, or None for the size their coordinates need.  ``quality`` is for
    JPEG and WebP output (1-100; None: 95)."""

    method: Method | str = "bilinear"
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
    coords: str = "pixel"
    overwrite: bool = False       # an existing output folder (a Zarr store) may be replaced

    def __post_init__(self):
        # parsed once, here: below, ``size`` is a Geometry (or None), ``method`` a Method
        # (or "gmm", pixels rebuilt as points, which is no kernel)
        if self.size is not None and not isinstance(self.size, Geometry):
            object.__setattr__(self, "size", Geometry.parse(self.size))
        if not (isinstance(self.method, str) and self.method.lower() == "gmm"):
            object.__setattr__(self, "method", get_method(self.method))
        else:
            object.__setattr__(self, "method", "gmm")

    def output_size(self, width, height):
        """The output (width, height) of an image of ``width`` x ``height``."""
        if self.size is not None:
            return self.size.size(width, height)
        return tuple(scaled_side(n, self.scale) for n in (width, height))
