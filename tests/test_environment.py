"""What `import lstmtext` sets in the environment before torch builds its first product, and what it leaves."""

import json
import os
import subprocess
import sys

NAMES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")


def _after_import(env: dict[str, str]) -> dict[str, str | None]:
    code = f"import json, os, lstmtext; print(json.dumps({{n: os.environ.get(n) for n in {NAMES!r}}}))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_import_bounds_onednn_caches_and_makes_openmp_spin_briefly():
    env = {k: v for k, v in os.environ.items() if k not in NAMES}
    assert _after_import(env) == {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "1000",
                                  "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "64", "LRU_CACHE_CAPACITY": "16"}


def test_a_users_own_settings_win():
    env = {**{k: v for k, v in os.environ.items() if k not in NAMES}, "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024",
           "LRU_CACHE_CAPACITY": "512", "OMP_WAIT_POLICY": "ACTIVE"}
    assert _after_import(env) == {"OMP_WAIT_POLICY": "ACTIVE", "GOMP_SPINCOUNT": None,
                                  "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024", "LRU_CACHE_CAPACITY": "512"}


def test_a_users_spin_count_leaves_the_wait_policy_alone():
    env = {**{k: v for k, v in os.environ.items() if k not in NAMES}, "GOMP_SPINCOUNT": "0"}
    assert _after_import(env)["OMP_WAIT_POLICY"] is None
    assert _after_import(env)["GOMP_SPINCOUNT"] == "0"
