"""The protos pass buf's STANDARD lint (see buf.yaml) and generate importable code."""

import importlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("STC_STATE_DIR", ROOT / ".state"))
BUF = STATE / "tools" / "node_modules" / ".bin" / "buf"


def test_buf_lint_standard():
    if not BUF.exists():
        pytest.skip("buf is not installed (make tools installs it from npm)")
    out = subprocess.run(["make", "-s", "lint-protos"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize(
    "module",
    [
        "stc.common.v1.common_pb2",
        "stc.licensing.v1.events_pb2",
        "stc.screening.v1.events_pb2",
        "stc.enduser.v1.events_pb2",
        "stc.credit.v1.events_pb2",
    ],
)
def test_generated_modules_import(module):
    mod = importlib.import_module(module)
    assert mod.DESCRIPTOR.package.startswith("stc.")


def test_generated_code_is_not_tracked_by_git():
    if not shutil.which("git"):
        pytest.skip("git missing")
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT).stdout
    assert not [
        f for f in tracked.splitlines() if f.endswith(("_pb2.py", "_pb2_grpc.py", "_pb2.pyi"))
    ]
