"""docs/course-walkthrough.md, run as written: its bash blocks against a real ``navsvc serve``.

The walkthrough is the clinic's script for a whole course (curl and jq calls); this test
keeps it true as the API changes. The plan job uses the API tests' fake plan function, so
the test checks the documented calls, not the targeting engine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from server_process import REPO, ServerProcess

WALKTHROUGH = REPO / "docs" / "course-walkthrough.md"

pytestmark = pytest.mark.skipif(
    shutil.which("jq") is None or shutil.which("curl") is None,
    reason="the walkthrough needs curl and jq (Debian packages curl, jq; .ci/run installs them)")


def walkthrough_script() -> str:
    """The walkthrough's ```bash blocks, in order, as one script."""
    blocks = re.findall(r"^```bash\n(.*?)^```", WALKTHROUGH.read_text(), flags=re.M | re.S)
    assert len(blocks) >= 8, "the walkthrough's bash blocks were not found"
    return "".join(blocks)


@pytest.fixture
def server(tmp_path):
    process = ServerProcess(tmp_path / "data", {"NAVSVC_PLAN_FUNCTION": "api_test_fakes:fake_make_plan"})
    yield process.start()
    process.stop()


def test_the_walkthrough_runs_as_written(server, tmp_path):
    env = {**server.env, "API": f"{server.base_url}/api/v1",
           "T1": str(REPO / "atlases" / "colin27_head.nii.gz"),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    work = tmp_path / "clinic"  # the summary's files land in the working folder
    work.mkdir()
    done = subprocess.run(["bash", "-c", walkthrough_script()], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()

    assert '{"arm":null,"arm_hidden":true}' in out  # the blinded rater, as the comment says
    assert '{"total":28,"severity":"very severe","response":null,"remission":null}' in out
    delivered = [line for line in out if line.startswith('{"session_index"')]
    assert len(delivered) == 15 and all('"session_state":"done"' in line for line in delivered)
    assert "retry: HTTP 200" in out
    assert any("a second log is refused" in line for line in out)
    week3 = next(line for line in out if line.startswith('{"timepoint":"week3"'))
    assert '"response":true' in week3 and '"remission":true' in week3
    assert out.count("[]") == 2  # no rating due, no open alert
    assert (work / "course-summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv_lines = (work / "course-summary.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + 15 + 4
