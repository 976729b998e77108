"""The OpenAPI document and the offline docs pages (Swagger UI, ReDoc)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from server_process import ServerProcess

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--virtual-time-budget=15000"]


def test_every_operation_is_documented(app):
    document = app.openapi()
    assert "Getting started" in document["info"]["description"]
    for step in ("create-token", "/images", "/plans", "exports/localite"):
        assert step in document["info"]["description"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
            assert operation.get("description"), f"{method} {path} has no description"
            for status, response in operation["responses"].items():
                assert "HTTPValidationError" not in str(response), (method, path, status)


def test_core_schemas_have_examples(app):
    from api import schemas

    document = app.openapi()["components"]["schemas"]
    core = {name for name in vars(schemas) if name in document}
    assert {"PatientCreate", "ImageOut", "JobOut", "PlanOut", "Problem"} <= core
    for name in sorted(core):
        assert document[name].get("examples"), f"schema {name} has no example"
        for field, spec in document[name].get("properties", {}).items():
            assert spec, (name, field)


def test_docs_pages_load_nothing_from_outside(client):
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)""", html) + re.findall(r"url: '([^']+)'", html)
        assert urls, page
        for url in urls:
            assert url.startswith("/"), f"{page} loads {url}"
            assert client.get(url).status_code == 200, url
        assert "googleapis" not in html and "cdn." not in html
    licences = Path(__file__).resolve().parents[2] / "api" / "static"
    assert (licences / "swagger-ui" / "LICENSE").is_file()
    assert (licences / "redoc" / "LICENSE").is_file()


@pytest.fixture
def server(tmp_path, database_url):
    env = {"NAVSVC_DATABASE_URL": database_url} if database_url else {}
    running = ServerProcess(tmp_path / "data", env).start()
    yield running
    running.stop()


def chromium(*args: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="navsvc-chromium-")
    try:
        return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_swagger_ui_renders_operations_offline(server, tmp_path):
    dom = chromium("--dump-dom", f"{server.base_url}/docs").stdout
    assert dom.count('class="opblock ') >= 15, dom[:2000]
    for summary in ("Register a patient", "Upload a T1 image", "Request a targeting plan",
                    "Download a navigator file", "Approve a plan"):
        assert summary in dom
    assert "Getting started" in dom
    screenshot = tmp_path / "docs.png"
    chromium("--window-size=1280,2000", f"--screenshot={screenshot}", f"{server.base_url}/docs")
    assert screenshot.is_file() and screenshot.stat().st_size > 20_000


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_redoc_renders_offline(server):
    dom = chromium("--dump-dom", f"{server.base_url}/redoc").stdout
    assert "Register a patient" in dom and "Getting started" in dom, dom[:2000]
