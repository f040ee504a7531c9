"""The command line as data: a command's arguments and options are listed once (:class:`Command`,
:class:`Option`), and from that one list come the parser that reads ``argv`` into their values
and the help.  Standard library only, so that a job starts without loading what it does not
use.

The grammar is the usual one (GNU, as click and argparse read it): ``--name value``,
``--name=value``, ``-n value``, ``-nvalue``, flags (``-q``, ``--strip``), short flags together
(``-rq``), ``--`` before arguments that begin with a dash, and ``-`` as an argument (standard
input or output).  An option given twice keeps its last value, but for a repeatable one
(``--include``), which keeps them all.  Every mistake is a :class:`UsageError`: one line,
exit code 2.
"""

from __future__ import annotations

import os
import sys
import textwrap

from .. import __version__


class UsageError(Exception):
    """A command line that cannot run (exit code 2)."""


class Option:
    """One option.  ``flags``: its spellings ("-o", "--output"); ``dest``: the name its value
    is handed down under (by default the long flag's); ``flag``: takes no value (True when
    given); ``many``: repeatable, a tuple of its values; ``choices``: the values allowed, given
    in any case, handed down as listed; ``parse``: turns the text into the value (raising
    ValueError with the reason); ``default``: the value when not given."""

    __slots__ = ("flags", "dest", "flag", "many", "choices", "parse", "default", "metavar",
                 "help", "show_default", "required")

    def __init__(self, *flags, dest=None, flag=False, many=False, choices=None, parse=None,
                 default=None, metavar=None, help="", show_default=False, required=False):
        self.flags, self.required = flags, required
        self.dest = dest or flags[-1].lstrip("-").replace("-", "_")
        self.flag, self.many, self.choices, self.parse = flag, many, choices, parse
        self.default = () if many and default is None else (False if flag else default)
        self.metavar = metavar or ("[" + "|".join(choices) + "]" if choices else "TEXT")
        self.help, self.show_default = help, show_default

    @property
    def name(self):
        """The spelling errors name it by: its long flag."""
        return self.flags[-1]

    def value(self, text):
        """The value of ``text`` given to this option."""
        if self.choices is not None:
            for choice in self.choices:
                if text.lower() == choice.lower():
                    return choice
            raise UsageError(f"{self.name}: {_quoted(text)} is not one of "
                             f"{', '.join(self.choices)}")
        if self.parse is not None:
            try:
                return self.parse(text)
            except ValueError as exc:
                raise UsageError(f"{self.name}: {exc}") from None
        return text


class Command:
    """A command: its name as typed, its positional ``arguments`` (names; a trailing ``?``: may
    be left out; ``*``, the last: any number, a tuple), its options, a description (the first
    paragraph is its summary), an epilog (examples), as the help shows them, and ``hints``:
    {a spelling people bring from other tools: what to say instead of "no such option"}."""

    def __init__(self, name, arguments, options, description, epilog="", hints=None):
        self.name, self.arguments, self.options = name, arguments, options
        self.description, self.epilog = description, epilog
        self.hints = hints or {}
        self.by_flag = {f: o for o in options for f in o.flags}

    def parse(self, argv):
        """``(values, given)``: every option's and argument's value by name, and the names of
        the options given.  ``-h``/``--help`` and ``--version`` raise :class:`Answer`."""
        values = {o.dest: o.default for o in self.options}
        given, positional = set(), []
        args = list(argv)
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                positional.extend(args[i:])
                break
            if arg in ("-h", "--help"):
                raise Answer(self.help())
            if arg == "--version" and self.name == "resample":
                raise Answer(f"resample, version {__version__}")
            hint = self.hints.get(arg.partition("=")[0].lower())
            if hint is not None and arg.partition("=")[0] not in self.by_flag:
                raise UsageError(f"no such option: {arg.partition('=')[0]} ({hint})")
            if arg.startswith("--"):                    # --name, --name=value
                name, eq, text = arg.partition("=")
                pieces = [(name, text if eq else None)]
            elif arg.startswith("-") and arg != "-":     # -q, -rq, -o OUT, -oOUT
                pieces = []
                for j in range(1, len(arg)):
                    name = "-" + arg[j]
                    if not self._option(name).flag:
                        pieces.append((name, arg[j + 1:] or None))
                        break
                    pieces.append((name, None))
            else:
                positional.append(arg)
                continue
            for name, text in pieces:
                option = self._option(name)
                if option.flag:
                    if text is not None:
                        raise UsageError(f"{name}: takes no value")
                    self._set(option, True, values, given)
                    continue
                if text is None:                         # the value is the next argument
                    if i >= len(args):
                        raise UsageError(f"{name}: needs a value")
                    text = args[i]
                    i += 1
                self._set(option, option.value(text), values, given)
        for option in self.options:
            if option.required and option.dest not in given:
                raise UsageError(f"give {' / '.join(option.flags)}")
        names = [a.rstrip("?*") for a in self.arguments]
        if len(positional) > len(names) and not self.arguments[-1].endswith("*"):
            raise UsageError(f"unexpected argument {_quoted(positional[len(names)])}")
        for k, name in enumerate(names):
            if self.arguments[k].endswith("*"):
                values[name] = tuple(positional[k:])
            elif k < len(positional):
                values[name] = positional[k]
            elif not self.arguments[k].endswith("?"):
                raise UsageError(f"give {name.upper()}")
            else:
                values[name] = None
        return values, frozenset(given)

    def _option(self, name):
        option = self.by_flag.get(name)
        if option is None:
            known = sorted(self.by_flag)
            close = [f for f in known if f.startswith(name[:4])] if name.startswith("--") else []
            hint = f" (did you mean {' or '.join(close[:3])}?)" if close else ""
            raise UsageError(f"no such option: {name}{hint}")
        return option

    @staticmethod
    def _set(option, value, values, given):
        values[option.dest] = values[option.dest] + (value,) if option.many else value
        given.add(option.dest)

    def help(self):
        """The help: usage, description, options (from the one list) and epilog."""
        width = max(60, min(100, _columns()))
        args = " ".join(f"[{a[:-1].upper()}]" if a.endswith("?") else
                        f"[{a[:-1].upper()}]..." if a.endswith("*") else a.upper()
                        for a in self.arguments)
        lines = [f"Usage: {self.name} [OPTIONS] {args}".rstrip(), ""]
        for paragraph in self.description.strip().split("\n\n"):
            lines += textwrap.wrap(" ".join(paragraph.split()), width - 2,
                                   initial_indent="  ", subsequent_indent="  ") + [""]
        rows = [(", ".join(o.flags) + ("" if o.flag else " " + o.metavar), o) for o in
                self.options]
        if self.name == "resample":
            rows.append(("--version", None))
        rows.append(("-h, --help", None))
        left = min(30, max(len(r[0]) for r in rows) + 2)
        lines.append("Options:")
        for text, option in rows:
            about = ("Show this message and exit." if text == "-h, --help" else
                     "Show the version and exit." if option is None else option.help)
            if option is not None and option.show_default:
                about += f"  [default: {option.default}]"
            wrapped = textwrap.wrap(about, width - left - 2, break_on_hyphens=False) or [""]
            head = f"  {text}"
            if len(head) > left:
                lines.append(head)
                head = ""
            lines.append(head.ljust(left) + wrapped[0])
            lines += [" " * left + w for w in wrapped[1:]]
        if self.epilog:
            lines += [""] + self.epilog.rstrip("\n").split("\n")
        return "\n".join(lines)


class Answer(Exception):
    """``--help`` or ``--version``: the text to print, then exit 0."""


def _quoted(text):
    text = str(text)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _columns():
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80


# --- value parsers (ValueError: the reason) ---------------------------------------------------

def number(text):
    """A float (nan and inf allowed)."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{_quoted(text)} is not a number") from None


def positive(text):
    """A finite float above 0."""
    value = number(text)
    if not (0 < value < float("inf")):
        raise ValueError(f"must be a finite number above 0, got {text}")
    return value


def integer(lo=None, hi=None):
    """A parser of whole numbers in [lo, hi] (None: unbounded)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{_quoted(text)} is not a whole number") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = (f"{lo}-{hi}" if hi is not None else f"at least {lo}") if lo is not None \
                else f"at most {hi}"
            raise ValueError(f"{value} is not in the range {span}")
        return value
    return parse


def fraction(text):
    """A float in (0, 1]."""
    value = number(text)
    if not 0 < value <= 1:
        raise ValueError(f"{value} is not in (0, 1]")
    return value
