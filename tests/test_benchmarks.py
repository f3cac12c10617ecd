"""The scripts in benchmarks/ and studies/ import and parse their arguments: a renamed module or function in the
package breaks a script nobody runs in CI, and the docs quote their commands."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import ROOT

SCRIPTS = sorted(p for folder in ("benchmarks", "studies") for p in (ROOT / folder).glob("*.py")
                 if p.name not in ("machine.py", "common.py"))  # the others' helpers, not scripts


def test_every_script_is_listed():
    assert len(SCRIPTS) >= 20 and {"train_speed.py", "infer_speed.py", "label_efficiency.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_script_help(script):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, env=env,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout
