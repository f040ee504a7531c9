"""Images of several frames: animated GIF, WebP and PNG, and multi-page TIFF, made with Pillow
from real photos; every frame resized (compared with resize() of the frame as a viewer shows
it), durations and loop count kept."""

import numpy as np
import pytest
from PIL import Image

import resample
from commands import run

skimage_data = pytest.importorskip("skimage.data")


def _frames(path):
    """The frames as a viewer shows them (composited, RGBA), and their durations."""
    with Image.open(path) as im:
        frames, durations = [], []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.array(im.convert("RGBA")))
            durations.append(im.info.get("duration"))
        return frames, durations, im.info.get("loop")


@pytest.fixture
def animation(tmp_path):
    """A 6-frame GIF panning across a photo, durations 40-240 ms, looping twice."""
    photo = skimage_data.astronaut()[::4, ::4]                       # 128x128
    frames = [Image.fromarray(np.roll(photo, 11 * i, axis=1)) for i in range(6)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:],
                   duration=[40 * (i + 1) for i in range(6)], loop=2)
    return path


@pytest.mark.parametrize("ext", ["gif", "webp", "png"])
def test_an_animation_keeps_every_frame_and_its_timing(animation, tmp_path, capsys, ext):
    out = tmp_path / f"out.{ext}"
    code, _, err = run(capsys, animation, "-o", out, "--scale", "0.5", "-m", "lanczos")
    assert code == 0 and "6 frames resized" in err, err
    src, _, _ = _frames(animation)
    got, durations, loop = _frames(out)
    assert len(got) == 6 and durations == [40 * (i + 1) for i in range(6)] and loop == 2
    for a, b in zip(src, got):
        want = resample.resize(a[..., :3], shape=(64, 64), method="lanczos",
                               boundary="truncate")
        diff = np.abs(b[..., :3].astype(int) - want)
        if ext == "png":                           # lossless: the pixels themselves
            assert diff.max() == 0
        else:                                      # a palette (GIF) or lossy WebP at 95
            assert diff.mean() < 6, diff.mean()


def test_a_transparent_animation_is_composited_and_premultiplied(tmp_path, capsys):
    """Frames that draw only a part over the ones before (disposal 1) and transparency: each
    output frame is the composited frame, resized with alpha premultiplied."""
    size = 60
    base = np.zeros((size, size, 4), np.uint8)
    frames = []
    for i in range(4):
        f = base.copy()
        f[10 + 8 * i: 20 + 8 * i, 5:50] = [220, 40 * i, 30, 255]
        frames.append(Image.fromarray(f))
    path = tmp_path / "t.png"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=70, loop=0,
                   disposal=0, blend=1)                     # APNG: frames add up
    code, _, err = run(capsys, path, "-o", tmp_path / "o.png", "--size", "30x30")
    assert code == 0, err
    src, _, _ = _frames(path)
    got, durations, _ = _frames(tmp_path / "o.png")
    assert len(got) == 4 and durations == [70.0] * 4
    assert (src[3][..., 3] > 0).sum() > (src[0][..., 3] > 0).sum()      # composited
    for a, b in zip(src, got):
        want = resample.resize(a, shape=(30, 30), boundary="truncate", alpha=True)
        assert np.abs(b.astype(int) - want).max() <= 1


def test_tiff_pages_each_resized_and_depth_kept(tmp_path, capsys):
    pages = [skimage_data.camera()[::4, ::4], skimage_data.moon()[::2, ::2],
             skimage_data.coins()[::3, ::3]]
    pages = [(p.astype(np.uint16) * 257) for p in pages]
    ims = [Image.fromarray(p) for p in pages]
    path = tmp_path / "stack.tif"
    ims[0].save(path, save_all=True, append_images=ims[1:])
    code, _, err = run(capsys, path, "-o", tmp_path / "o.tif", "--scale", "0.5")
    assert code == 0 and "3 pages resized" in err, err
    with Image.open(tmp_path / "o.tif") as im:
        assert im.n_frames == 3
        for i, p in enumerate(pages):
            im.seek(i)
            got = np.array(im)
            assert got.dtype == np.uint16
            want = resample.resize(p, scale=0.5, boundary="truncate")
            assert got.shape == want.shape and np.abs(got.astype(int) - want).max() <= 1


def test_an_output_of_one_frame_takes_the_first_and_says_so(animation, tmp_path, capsys):
    code, _, err = run(capsys, animation, "-o", tmp_path / "o.jpg", "--scale", "0.5")
    assert code == 0
    assert "6 frames: only the first is converted (GIF, WebP, PNG and TIFF outputs keep" in err


def test_the_command_as_installed_keeps_an_apng_s_frames(tmp_path):
    """The command's short path (8-bit RGB PNG) leaves animated PNGs to the full command."""
    import subprocess
    import sys

    photo = skimage_data.astronaut()[::4, ::4]
    frames = [Image.fromarray(np.roll(photo, 9 * i, axis=0)) for i in range(3)]
    frames[0].save(tmp_path / "a.png", save_all=True, append_images=frames[1:], duration=50)
    subprocess.run([sys.executable, "-m", "resample", str(tmp_path / "a.png"), "-o",
                    str(tmp_path / "b.png"), "--scale", "0.5", "-q"], check=True, timeout=120)
    with Image.open(tmp_path / "b.png") as im:
        assert im.n_frames == 3 and im.size == (64, 64)


def test_an_animation_a_shrink_only_size_leaves_is_converted_frame_by_frame(animation, tmp_path,
                                                                          capsys):
    code, _, err = run(capsys, animation, "-o", tmp_path / "o.png", "--size", "500x500>",
                       "-m", "mitchell")
    assert code == 0 and "left as it is" in err
    src, _, _ = _frames(animation)
    got, durations, _ = _frames(tmp_path / "o.png")
    assert len(got) == 6 and all((a == b).all() for a, b in zip(src, got))     # untouched


def test_a_camera_mpo_jpeg_is_one_picture(tmp_path, capsys):
    """A camera's MPO JPEG carries a preview as a second frame: converted as one picture,
    without a note about frames."""
    photo = skimage_data.coffee()[::4, ::4]
    ims = [Image.fromarray(photo), Image.fromarray(photo[::2, ::2])]
    ims[0].save(tmp_path / "cam.jpg", format="MPO", save_all=True, append_images=ims[1:])
    with Image.open(tmp_path / "cam.jpg") as im:
        assert im.format == "MPO" and im.n_frames == 2
    code, _, err = run(capsys, tmp_path / "cam.jpg", "-o", tmp_path / "o.png", "--scale", "0.5")
    assert code == 0 and "frame" not in err, err
    with Image.open(tmp_path / "o.png") as im:
        assert getattr(im, "n_frames", 1) == 1 and im.size == (75, 50)


def test_a_folder_run_keeps_an_animation_s_frames(animation, tmp_path, capsys):
    """In a folder run the file is decoded ahead (its first frame); the frames still go
    through, every one resized."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "anim.gif").write_bytes(animation.read_bytes())
    code, _, err = run(capsys, folder, "-o", tmp_path / "out", "--scale", "0.5", "-j", "1")
    assert code == 0, err
    got, durations, _ = _frames(tmp_path / "out" / "anim.gif")
    assert len(got) == 6 and got[0].shape == (64, 64, 4)
