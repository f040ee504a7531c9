"""The command run by the tests: in this process (:func:`run`), or as a new process, as a
user runs it (:func:`command`)."""

import resource
import subprocess
import sys

from resample.cli.command import main

# The command, then its peak resident memory (bytes) on a last line of its own: Linux's VmHWM,
# the peak of this program's own memory (ru_maxrss would also count the forked copy of the
# tests' process, before the exec: Linux keeps the larger across an exec), else ru_maxrss.
_PEAK = """import resource, sys
from resample.cli.command import main
code = main(sys.argv[1:])
sys.stdout.flush()
try:
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stderr.write("peak %d\\n" % (1024 * peak))
sys.exit(code)"""


def run(capsys, *args):
    """``(exit code, stdout, stderr)`` of the command run in this process."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def command(*args, limit_bytes=None, timeout=120, peak=False, text=False, stdin=None, env=None,
            cwd=None):
    """Run the command in a new process (under an address-space limit, if given; its output
    as text with ``text``, else bytes).  With ``peak``, the result's ``peak`` is the
    process's peak resident memory in bytes (and its stderr is the command's alone)."""
    def limit():
        if limit_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    runner = [sys.executable, "-c", _PEAK] if peak else [sys.executable, "-m", "resample"]
    done = subprocess.run([*runner, *map(str, args)], capture_output=True, text=text or peak,
                          timeout=timeout, preexec_fn=limit, input=stdin, env=env, cwd=cwd)
    if peak:
        head, _, last = done.stderr.rstrip("\n").rpartition("\n")
        done.peak = int(last.split()[1])
        done.stderr = head + "\n" if head else ""
    return done
