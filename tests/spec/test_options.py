"""The job's spec (src/resample/spec/options.py): every parameter parsed once, into values
that nothing below re-parses."""

import pytest

from resample import ResampleError
from resample.spec.geometry import Geometry
from resample.spec.methods import METHODS, Method
from resample.spec.options import Options


def test_the_method_and_the_size_are_parsed_once():
    options = Options(method="CatRom", size="50%")
    assert options.method is METHODS["bicubic"] and isinstance(options.size, Geometry)
    assert options.size.percent and options.output_size(50, 29) == (25, 15)
    assert not options.points and options.method_name == "bicubic"
    again = options.replace(strip=True)               # a copy, parsed values kept
    assert again.method is options.method and again.size == options.size and again.strip
    assert options.replace(method="nearest").method is METHODS["nearest"]
    with pytest.raises(AttributeError):
        options.strip = True                          # the spec is immutable
    with pytest.raises(ResampleError, match="--size"):
        Options(size="12y7")
    with pytest.raises(ResampleError):
        Options(method="cubicle")


def test_rebuilding_as_points_is_its_own_operation():
    """``--method gmm`` is a spelling: the spec says points, and has no kernel."""
    options = Options(method="GMM", scale=2)
    assert options.points and options.method is None
    assert options.method_name == "gmm" and options.resize_method == "gmm"
    assert Options(points=True).method is None
    assert options.replace(points=False, method="lanczos").method is METHODS["lanczos"]


def test_a_kernel_of_ones_own_is_a_method():
    mine = Method("tent", lambda u: (1 - abs(u)).clip(0), 1.0)
    options = Options(method=mine, scale=0.5)
    assert options.method is mine and options.method_name == "tent"


@pytest.mark.parametrize("alias, method", [
    ("linear", "bilinear"), ("triangle", "bilinear"), ("cubic", "bicubic"),
    ("catrom", "bicubic"), ("point", "nearest"), ("lanczos3", "lanczos"), ("area", "box"),
    ("Lanczos3", "lanczos")])
def test_other_tools_names_are_the_same_kernels(alias, method):
    """ImageMagick's, libvips' and OpenCV's names for a kernel this tool has: the kernel
    itself (OpenCV's INTER_CUBIC and torch's bicubic are a = -0.75: sharpcubic, no alias)."""
    import numpy as np

    import resample

    options = Options(method=alias, scale=2)
    assert options.method is METHODS[method] and options.method_name == method
    img = np.random.default_rng(0).random((9, 11))
    np.testing.assert_array_equal(resample.resize(img, shape=(13, 7), method=alias),
                                  resample.resize(img, shape=(13, 7), method=method))


def test_the_package_lists_each_name_once_and_its_help_names_every_method():
    import resample

    names = dir(resample)
    assert len(names) == len(set(names)) and "ResampleError" in names
    doc = resample.resize.__doc__
    assert all(m in doc for m in METHODS), [m for m in METHODS if m not in doc]
