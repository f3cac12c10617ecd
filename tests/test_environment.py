"""What `import lstmtext` sets in the environment before torch builds its first product, and what it leaves."""

import json
import os
import subprocess
import sys

NAMES = ("OMP_WAIT_POLICY", "ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")


def _after_import(env: dict[str, str]) -> dict[str, str | None]:
    code = f"import json, os, lstmtext; print(json.dumps({{n: os.environ.get(n) for n in {NAMES!r}}}))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_import_bounds_onednn_caches_and_makes_openmp_passive():
    env = {k: v for k, v in os.environ.items() if k not in NAMES}
    assert _after_import(env) == {"OMP_WAIT_POLICY": "PASSIVE", "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "64",
                                  "LRU_CACHE_CAPACITY": "16"}


def test_a_users_own_settings_win():
    env = {**{k: v for k, v in os.environ.items() if k not in NAMES}, "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024",
           "LRU_CACHE_CAPACITY": "512", "OMP_WAIT_POLICY": "ACTIVE"}
    assert _after_import(env) == {"OMP_WAIT_POLICY": "ACTIVE", "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024",
                                  "LRU_CACHE_CAPACITY": "512"}
