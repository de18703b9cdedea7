"""Children that tests interrupt get SIGINT at its default, whatever this process has.

A run started as a background job of a non-interactive shell (``pytest &`` in a script) has
SIGINT ignored, and a child inherits that: a Ctrl-C test would then watch its child ignore
the SIGINT and run to completion. The parent here reproduces that: it ignores SIGINT first.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.harness.children import child_env

ROOT = Path(__file__).resolve().parents[3]

# Prints what SIGINT is in this child, then waits to be interrupted (or times out).
SLEEPER = """
import signal, sys, time
print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, flush=True)
time.sleep(60)
print("ran to completion", flush=True)
"""

# A parent with SIGINT ignored, as a background job has it: starts SLEEPER through the
# helper or through a plain Popen, interrupts it once it is up, reports how it ended.
PARENT = """
import json, signal, subprocess, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
from tests.harness.children import interruptible

args = [sys.executable, "-c", {sleeper!r}]
how = sys.argv[1]
if how == "helper":
    proc = interruptible(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
else:
    proc = subprocess.Popen(args, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
handler = proc.stdout.readline().strip()
if how == "helper":
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
else:  # ignored SIGINT: nothing to interrupt; stop it rather than wait the minute out
    proc.kill()
    out, err = proc.communicate(timeout=30)
print(json.dumps({{"handler": handler, "code": proc.returncode, "out": out, "err": err}}))
"""


def _through_parent(how: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PARENT.format(sleeper=SLEEPER), how],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_a_child_of_a_parent_ignoring_sigint_is_interrupted_by_it() -> None:
    report = _through_parent("helper")
    # The child's interpreter saw SIGINT at SIG_DFL when it started, so it installed its
    # KeyboardInterrupt handler; the SIGINT then interrupted the sleep.
    assert report["handler"] == "True", report
    assert "KeyboardInterrupt" in str(report["err"]), report
    assert "ran to completion" not in str(report["out"]), report
    assert report["code"] == -signal.SIGINT, report  # an uncaught Ctrl-C re-raises SIGINT


def test_without_the_helper_the_child_inherits_sigint_ignored() -> None:
    # The condition the helper exists for: proves the parent above really reproduces it.
    report = _through_parent("plain")
    assert report["handler"] == "False", report
