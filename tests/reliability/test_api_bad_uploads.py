"""Every case of the malformed-image corpus, uploaded to a real server, is refused well.

For each of the corpus's cases (``tests/corpus/make_bad_images.py``; folders are sent
zipped, as a workstation would send them): the answer is a 4xx problem document whose
``detail`` names the problem, the server still answers ``/healthz``, its resident
memory stays bounded (read from ``/proc``), and the image already stored for the
patient (record and file) is unchanged; the upload spool is left empty.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import httpx
import pytest
from proc_stats import memory_kib
from seed import check, upload
from server_process import ServerProcess

from api.storage import sha256_file
from corpus.make_bad_images import make_corpus

#: resident memory the server may gain over the whole corpus (bombs expand to 512 MiB)
MAX_RSS_GROWTH_MIB = 300
#: what the service says when the file name has no accepted suffix
SUFFIX_MESSAGE = "must be a NIfTI image"


def _as_upload(path: Path, folder: Path) -> Path:
    """The file to send: the case itself, or a zip of a case that is a folder."""
    if not path.is_dir():
        return path
    target = folder / f"{path.name}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in sorted(path.rglob("*")):
            if member.is_file():
                archive.write(member, member.relative_to(path).as_posix())
    return target


@pytest.fixture
def server(tmp_path, database_url):
    env = {"NAVSVC_PLAN_FUNCTION": "api_test_fakes:fake_make_plan",
           "NAVSVC_MAX_UPLOAD_MB": "64", "NAVSVC_EMBEDDED_WORKER": "false"}
    if database_url:
        env["NAVSVC_DATABASE_URL"] = database_url
    process = ServerProcess(tmp_path / "data", env).start()
    yield process
    process.stop()


def test_every_bad_upload_is_refused_with_a_named_problem(server, tmp_path, small_head):
    cases = make_corpus(tmp_path / "corpus")
    assert len(cases) >= 20
    zips = tmp_path / "zipped"
    zips.mkdir()
    tech = {"Authorization": "Bearer " + server.cli(
        "admin", "create-token", "--role", "technician", "--name", "ws-1").strip()}
    data_dir = Path(server.env["NAVSVC_DATA_DIR"])
    pid = server.process.pid
    with httpx.Client(base_url=server.base_url, timeout=120) as http:
        patient = check(http.post("/api/v1/patients", headers=tech,
                                  json={"external_id": "MRN-BAD"}), 201)
        url = f"/api/v1/patients/{patient['id']}/images"
        stored = check(upload(http, tech, patient["id"], small_head), 201)
        before_files = {p: sha256_file(p) for p in (data_dir / "images").rglob("*") if p.is_file()}
        before_records = check(http.get(url, headers=tech))
        start_rss = memory_kib(pid)["VmRSS"]
        refused, rss_max = [], start_rss
        for case in cases:
            sent = _as_upload(case.path, zips)
            response = upload(http, tech, patient["id"], sent, name=sent.name)
            assert 400 <= response.status_code < 500, (case.name, response.status_code,
                                                        response.text)
            assert response.headers["content-type"] == "application/problem+json", case.name
            detail = response.json()["detail"]
            if sent.suffix not in (".nii", ".gz", ".zip"):
                assert SUFFIX_MESSAGE.lower() in detail.lower(), (case.name, detail)
            else:
                assert case.said_in(detail, sent.name), (case.name, case.expected, detail)
            assert http.get("/healthz").status_code == 200, case.name
            rss_max = max(rss_max, memory_kib(pid)["VmRSS"])
            refused.append((case.name, response.status_code))
        after_records = check(http.get(url, headers=tech))
    peak = memory_kib(pid)["VmHWM"]
    print(f"{len(refused)} bad uploads refused; server RSS {start_rss / 1024:.0f} MiB at "
          f"start, {rss_max / 1024:.0f} MiB max between uploads, peak (VmHWM) "
          f"{peak / 1024:.0f} MiB")
    assert len(refused) == len(cases)
    assert (rss_max - start_rss) / 1024 < MAX_RSS_GROWTH_MIB
    assert (peak - start_rss) / 1024 < MAX_RSS_GROWTH_MIB
    assert after_records == before_records and [r["id"] for r in after_records["items"]] == [stored["id"]]
    after_files = {p: sha256_file(p) for p in (data_dir / "images").rglob("*") if p.is_file()}
    assert after_files == before_files
    assert not any((data_dir / "tmp").iterdir()), "the upload spool keeps refused files"
