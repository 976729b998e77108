"""Fuzz every API operation with every role (schemathesis) and print the figures.

Usage::

    python benchmarks/api_fuzz.py [--examples N] [--seed S]

The service runs in-process on a temporary data folder (SQLite) with the API tests'
fake plan function and a seeded patient, image, approved plan, calendar and course. Each
operation gets ``N`` generated requests per generation mode (valid, invalid) and id
source (random, existing), each sent with the five role tokens and the generated
Authorization header. Exit code 1 if any response is a 5xx or breaks the document.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "api"), str(REPO / "tests" / "reliability")]

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from api_test_fakes import plan_dict  # noqa: E402
from api_test_helpers import insert_plan  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from fuzz_driver import fuzz_app  # noqa: E402
from seed import seed_course  # noqa: E402

from api.app import create_app  # noqa: E402
from api.config import Settings  # noqa: E402
from api.security import ROLES  # noqa: E402
from api.tokens import create_token  # noqa: E402


def small_head(folder: Path) -> Path:
    """A 64^3, 2.5 mm volume that passes the input checks."""
    data = (np.random.default_rng(0).random((64, 64, 64)) * 100).astype(np.int16)
    affine = np.diag([2.5, 2.5, 2.5, 1.0])
    affine[:3, 3] = -80.0
    path = folder / "small.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzing and print the report; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=8,
                        help="generated requests per operation, mode and id source")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", embedded_worker=False,
                            max_upload_mb=16,
                            plan_function="api_test_fakes:fake_make_plan")
        app = create_app(settings)
        with TestClient(app, raise_server_exceptions=False) as client:
            tokens = {role: create_token(app.state.db, role, role) for role in ROLES}
            auth = {role: {"Authorization": f"Bearer {secret}"} for role, secret in tokens.items()}
            ids = seed_course(client, auth, lambda image_id: insert_plan(app, image_id, plan_dict()),
                              small_head(Path(tmp)))
            report = fuzz_app(client, tokens, args.examples, ids, seed=args.seed)
    print(report.summary())
    for line in report.failures[:50]:
        print("FAIL", line)
    return 1 if report.failures or report.server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
