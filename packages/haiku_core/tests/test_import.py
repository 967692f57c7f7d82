"""Importing haiku_core must not touch any device or backend."""

import os
import subprocess
import sys


def test_import_touches_no_device():
    # A bogus platform makes any backend initialisation fail, so this only passes if
    # `import haiku_core` creates no arrays and queries no devices.
    env = {**os.environ, "JAX_PLATFORMS": "bogus"}
    code = "import haiku_core; print(haiku_core.__version__)"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, (
        f"import haiku_core with JAX_PLATFORMS=bogus failed (it touched a device):\n{proc.stderr}"
    )
    assert proc.stdout.strip() == __import__("haiku_core").__version__


def test_bogus_platform_really_fails_on_device_use():
    # Guard for the test above: with JAX_PLATFORMS=bogus, creating an array does fail.
    env = {**os.environ, "JAX_PLATFORMS": "bogus"}
    code = "import jax.numpy as jnp; jnp.zeros(1)"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0
