"""The command line's one parser (src/resample/cli/parser.py), on the commands' own lists of
options: every spelling the grammar allows gives the same values, and every mistake is one
line naming the option."""

import pytest

from resample.cli import command
from resample.cli.parser import Answer, UsageError

RESIZE = command.COMMANDS[None][0]


def parse(*argv):
    return RESIZE.parse(list(argv))


def test_the_spellings_of_one_command_line_agree():
    forms = [
        ["in.png", "-o", "out.png", "-s", "0.5", "-m", "Lanczos", "-q"],
        ["in.png", "--output=out.png", "--scale=0.5", "--method=LANCZOS", "--quiet"],
        ["-oout.png", "-s0.5", "-mlanczos", "-q", "in.png"],
        ["-qs", "0.5", "--method", "lanczos", "--output", "out.png", "--", "in.png"],
    ]
    results = [parse(*f) for f in forms]
    for values, given in results:
        assert values["input"] == ("in.png",) and values["output"] == "out.png"
        assert values["scale"] == 0.5 and values["method"] == "lanczos" and values["quiet"]
        assert given == {"output", "scale", "method", "quiet"}
    assert all(r == results[0] for r in results)


def test_defaults_repeats_and_arguments_that_look_like_options():
    values, given = parse("in.png", "--scale", "2")
    assert values["method"] == "bilinear" and values["boundary"] == "truncate"
    assert values["fill"] == 0.0 and values["include"] == () and given == {"scale"}
    values, _ = parse("in.png", "--scale", "2", "--scale", "3")       # the last one counts
    assert values["scale"] == 3.0
    values, _ = parse("d/", "-o", "o/", "--include", "*.png", "--include=*.jpg", "-s", "2")
    assert values["include"] == ("*.png", "*.jpg")
    values, _ = parse("in.png", "--boundary", "constant", "--fill", "-1", "-s", "2")
    assert values["fill"] == -1.0                  # a value may begin with a dash
    values, _ = parse("-", "-o", "-", "--scale", "2")
    assert values["input"] == ("-",) and values["output"] == "-"
    values, _ = parse("--scale", "2", "--", "-odd-name.png")
    assert values["input"] == ("-odd-name.png",)
    values, _ = parse("--scale", "2")
    assert values["input"] == ()                   # (the command asks for one itself)
    values, _ = parse("a.png", "b.png", "c.png", "-o", "out/", "-s", "2")
    assert values["input"] == ("a.png", "b.png", "c.png")


@pytest.mark.parametrize("argv, says", [
    (["in.png", "--scale"], "--scale: needs a value"),
    (["in.png", "-s"], "-s: needs a value"),
    (["in.png", "--scale", "zero"], "--scale: 'zero' is not a number"),
    (["in.png", "--scale", "0"], "--scale: must be a finite number above 0"),
    (["in.png", "--scale", "inf"], "--scale: must be a finite number above 0"),
    (["in.png", "-m", "cubicle", "-s", "2"], "--method: 'cubicle' is not one of nearest,"),
    (["in.png", "--quality", "101", "-s", "2"], "--quality: 101 is not in the range 1-100"),
    (["in.png", "--threads", "x", "-s", "2"], "--threads: 'x' is not a whole number"),
    (["in.png", "--strip=yes", "-s", "2"], "--strip: takes no value"),
    (["in.png", "--scales", "2"], "no such option: --scales (did you mean --scale"),
    (["in.png", "-Z"], "no such option: -Z"),
    # what other tools' users type: one line saying what to give instead
    (["in.png", "-resize", "50%"], "no such option: -resize (ImageMagick's -resize is --size"),
    (["in.png", "--width", "100"], "no such option: --width (give --size Wx"),
    (["in.png", "--height=100"], "no such option: --height (give --size xH"),
    (["in.png", "--scale", "50%"], "--scale: 50% is a percentage: give --size 50%"),
    (["in.png", "--filter", "lanczos"], "no such option: --filter (give --method NAME"),
    (["in.png", "--kernel", "lanczos3"], "no such option: --kernel (give --method NAME"),
    (["in.png", "--antialias"], "no such option: --antialias (antialiasing is on"),
])
def test_each_mistake_is_one_line_naming_the_option(argv, says):
    with pytest.raises(UsageError) as err:
        parse(*argv)
    assert str(err.value).startswith(says) and "\n" not in str(err.value)


def test_subcommands_have_their_own_lists():
    points = command.COMMANDS["points"][0]
    values, _ = points.parse(["photo.png", "-o", "p.csv", "--fraction", "0.1"])
    assert values["image"] == "photo.png" and values["fraction"] == 0.1
    with pytest.raises(UsageError, match="give -o / --output"):
        points.parse(["photo.png", "--count", "5"])
    with pytest.raises(UsageError, match="give IMAGE"):
        points.parse(["-o", "p.csv", "--count", "5"])
    with pytest.raises(UsageError, match=r"--fraction: 1.5 is not in \(0, 1\]"):
        points.parse(["photo.png", "-o", "p.csv", "--fraction", "1.5"])


def test_the_help_lists_every_option_of_the_list():
    for cmd, _ in command.COMMANDS.values():
        with pytest.raises(Answer) as answer:
            cmd.parse(["--help"])
        text = str(answer.value)
        assert text.startswith(f"Usage: {cmd.name} [OPTIONS]")
        for option in cmd.options:
            assert ", ".join(option.flags) in text, option.flags
    with pytest.raises(Answer, match=r"^resample, version \d"):
        parse("--version")


def test_the_command_exits_2_with_the_line(capsys):
    assert command.main(["in.png", "--scale", "zero"]) == 2
    assert capsys.readouterr().err == "resample: error: --scale: 'zero' is not a number\n"
    assert command.main(["-h"]) == 0
    assert "Examples:" in capsys.readouterr().out
