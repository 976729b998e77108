"""Tests of the visual QC report (navsvc.report) on a small synthetic head."""

from __future__ import annotations

import copy
import io
import os
import re
import stat
from html.parser import HTMLParser

import matplotlib.image
import nibabel as nib
import numpy as np
import pytest
import trimesh

from navsvc.report.document import ReportInputs, write_report
from navsvc.report.planes import VIEWS, Volume, sample_planes
from navsvc.report.visibility import hidden_points
from navsvc.report.scalp3d import Marker, render_scalp_views
from navsvc.report.scalp_geometry import decimate_mesh
from navsvc.sampling import grid_sampler
from report_head import HEAD_RADIUS_MM, TARGET_RAS_MM, synthetic_inputs, synthetic_plan


@pytest.fixture(scope="module")
def inputs() -> ReportInputs:
    return synthetic_inputs()


@pytest.fixture(scope="module")
def report_html(tmp_path_factory, inputs) -> str:
    out_dir = tmp_path_factory.mktemp("plan")
    path = write_report(out_dir, synthetic_plan(), inputs)
    assert path == out_dir / "report.html"
    return path.read_text(encoding="utf-8")


class _References(HTMLParser):
    """Every src/href/srcset/poster/action/data attribute value and every CSS url(...)."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.tags: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in {"src", "href", "srcset", "poster", "action", "data", "xlink:href"} and value:
                self.references.append(value.strip())
            if name == "style" and value:
                self.references += re.findall(r"url\(\s*['\"]?([^'\")]+)", value)

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.references += re.findall(r"url\(\s*['\"]?([^'\")]+)", data)
            self.references += re.findall(r"@import\s+['\"]([^'\"]+)", data)


def test_report_is_written_and_references_nothing_outside(report_html):
    parser = _References()
    parser.feed(report_html)
    assert parser.references, "the figures must be embedded as data: URIs"
    for reference in parser.references:
        lowered = reference.lower()
        assert not re.match(r"^(https?:|//|/|\\\\|file:|[a-z]:[\\/])", lowered), reference
        assert lowered.startswith("data:") or not re.match(r"^[a-z][a-z0-9+.-]*:", lowered), reference
    assert "script" not in parser.tags and "link" not in parser.tags and "iframe" not in parser.tags
    assert not re.search(r"https?://", report_html)
    images = [r for r in parser.references if r.startswith("data:image/png;base64,")]
    assert len(images) == 3


def test_report_shows_the_plan_values(report_html):
    x, y, z = synthetic_plan()["entry"]["scalp_ras_mm"]
    for text in (
        f"({x:.1f}, {y:.1f}, {z:.1f})",  # scalp entry, RAS
        f"({-x:.1f}, {-y:.1f}, {z:.1f})",  # scalp entry, LPS
        "(-38.0, 44.0, 26.0)",  # cortical target, RAS
        "(38.0, -44.0, 26.0)",  # ... LPS
        "(19, 47, 41)",  # ... voxel
        "(-39.5, 45.2, 25.8)",  # ... MNI (one decimal)
        "(-37.2, 43.5, 27.0)",  # strategy point mapped to the patient
        "17.4 mm", "23.4 mm", "41.6 mm",  # F3, Beam F3, 5-cm distances
        "MT + 7.6 %MSO", "2.80 %MSO/mm",
        "ab" * 32, "0.1.0", "fox2012", "Fox et al. 2012", "plan-0042", "14.2 s",
        "patient's left is on the left of the image",
    ):
        assert text in report_html, text


def test_report_names_what_each_point_and_distance_is(report_html):
    # the "M1 hand knob (cortex)" row showed the scalp point 18 mm away, next to the cortical
    # MNI coordinate, and the landmarks' distances to the scalp entry read "→ MRI target"
    page = re.sub(r"\s+", " ", report_html)
    assert re.search(r"M1 hand knob, cortex</th><td[^>]*>\(-36\.7, -49\.8, 88\.3\)</td>.*?"
                     r"\(-37\.0, -21\.0, 58\.0\)</td>", page)
    scalp_row = re.search(r"M1 hand knob, scalp point above it</th>(.*?)</tr>", page).group(1)
    assert "(-46.9, -49.3, 103.8)" in scalp_row and "(-37.0, -21.0, 58.0)" not in scalp_row
    assert "M1 hand knob (cortex)" not in page and "→ MRI target" not in page
    assert "F3 (10-20) → MRI-guided scalp entry" in page
    assert "45° (posterior and lateral)" in page


def test_strategy_string_is_escaped(tmp_path, inputs):
    plan = synthetic_plan()
    plan["target"]["strategy"] = '<script>alert("x")</script>'
    plan["parameters"]["strategy"] = "<img src=x onerror=alert(1)>"
    page = write_report(tmp_path, plan, inputs).read_text(encoding="utf-8")
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_report_file_mode_follows_the_umask(tmp_path, monkeypatch):
    monkeypatch.setattr("navsvc.report.document.render_figures", lambda plan, inputs, scalp_process=None: {})  # not needed here
    modes = {}
    for umask in (0o022, 0o077):
        previous = os.umask(umask)
        try:
            path = write_report(tmp_path / f"umask-{umask:03o}", synthetic_plan(), None)
        finally:
            os.umask(previous)
        modes[umask] = stat.S_IMODE(path.stat().st_mode)
    assert modes == {0o022: 0o644, 0o077: 0o600}


def test_missing_optional_keys_show_a_dash(tmp_path, inputs):
    plan = {"target": {"cortex_ras_mm": list(TARGET_RAS_MM)}}
    page = write_report(tmp_path, plan, inputs).read_text(encoding="utf-8")
    assert "(-38.0, 44.0, 26.0)" in page
    assert "<td>—</td>" in page
    assert page.count("data:image/png;base64,") == 3


@pytest.mark.parametrize("caution", [None, "the registration quality, 0.550, is low"])
def test_a_registration_caution_is_shown_as_a_warning(tmp_path, inputs, caution):
    plan = copy.deepcopy(synthetic_plan())
    plan.setdefault("registration", {}).setdefault("quality", {})["caution"] = caution
    page = write_report(tmp_path, plan, inputs).read_text(encoding="utf-8")
    assert ("The registration quality, 0.550, is low." in page) is (caution is not None)


@pytest.mark.parametrize("intensity, shown", [
    ({"bias_field_spread": 1.216, "uneven_from": 1.15, "uneven_corrected": True},
     "uneven: the bias field spans a factor of 1.22 (from 1.15 on), corrected more strongly before registration"),
    ({"bias_field_spread": 1.102, "uneven_from": 1.15, "uneven_corrected": False},
     "even: the bias field spans a factor of 1.10"),
    (None, None),  # a plan made before schema 1.7.0
    ({"bias_field_spread": "1.2", "uneven_from": 1.15, "uneven_corrected": True}, None),
    ({"bias_field_spread": 1.2, "uneven_from": 1.15, "uneven_corrected": 1}, None),
])
def test_the_images_intensity_is_told_in_words(tmp_path, inputs, intensity, shown):
    from navsvc.report.values import intensity_words

    plan = copy.deepcopy(synthetic_plan())
    plan.setdefault("registration", {})["intensity"] = intensity
    assert intensity_words(plan) == shown
    page = write_report(tmp_path, plan, inputs).read_text(encoding="utf-8")
    assert f"<th>Image intensity</th><td>{'—' if shown is None else shown}</td>" in page


@pytest.mark.parametrize("mni_x_mm, flagged", [(39.5, True), (0.0, True), (-0.5, False)])
def test_a_target_not_on_the_left_is_flagged(tmp_path, inputs, mni_x_mm, flagged):
    # the midline counts as not left, as in the plan's "hemisphere" (navsvc.target.hemisphere)
    plan = copy.deepcopy(synthetic_plan())
    plan["target"]["cortex_mni_mm"] = [mni_x_mm, 45.25, 25.75]
    page = write_report(tmp_path, plan, inputs).read_text(encoding="utf-8")
    assert ("NOT in the patient&#x27;s left hemisphere" in page) is flagged  # html-escaped apostrophe


def _no_image(points):
    return np.zeros(len(points))


def test_inputs_reject_a_grid_that_is_not_ras():
    lps_affine = np.diag([-1.0, -1.0, 1.0, 1.0])
    image = nib.Nifti1Image(np.zeros((4, 4, 4), dtype=np.float32), lps_affine)
    with pytest.raises(ValueError, match="axis-aligned RAS"):
        ReportInputs(image, _no_image, _no_image, np.zeros((3, 3)), np.array([[0, 1, 2]]))


def test_inputs_reject_a_template_that_is_an_image():
    ras = nib.Nifti1Image(np.zeros((4, 4, 4), dtype=np.float32), np.eye(4))
    with pytest.raises(ValueError, match="template must be a function"):
        ReportInputs(ras, ras, _no_image, np.zeros((3, 3)), np.array([[0, 1, 2]]))


def test_decimate_mesh_keeps_the_shape():
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=90.0)
    vertices, faces = decimate_mesh(np.asarray(sphere.vertices), np.asarray(sphere.faces), 6.0)
    assert len(faces) < len(sphere.faces) / 2
    radii = np.linalg.norm(vertices, axis=1)
    assert radii.max() <= 90.0 + 1e-6 and radii.min() > 85.0


def test_sampled_planes_are_the_volume_planes_cropped():
    """Planes read through a sampler have the grid's own slices' orientation, values and extent."""
    data = np.random.default_rng(3).normal(size=(20, 24, 28)).astype(np.float32)
    affine = np.diag([1.5, 1.5, 1.5, 1.0])
    affine[:3, 3] = (-14.0, -17.0, 9.0)
    img = nib.Nifti1Image(data, affine)
    volume = Volume(img)
    crop = np.array([[-8.0, 6.0], [-12.0, 3.0], [15.0, 40.0]])
    cuts = [(view, (-5.0, -2.0, 20.0)[view.normal_axis]) for view in VIEWS]
    for full, cropped, (view, cut) in zip(sample_planes(grid_sampler(img), volume, cuts),
                                         sample_planes(grid_sampler(img), volume, cuts, crop), cuts):
        reference = volume.plane(view, cut)
        np.testing.assert_array_equal(full.values, reference.values)
        assert full.extent_mm == pytest.approx(reference.extent_mm)
        h, v = cropped.horizontal_mm, cropped.vertical_mm
        assert h.min() >= crop[view.horizontal_axis, 0] and h.max() <= crop[view.horizontal_axis, 1]
        assert v.min() >= crop[view.vertical_axis, 0] and v.max() <= crop[view.vertical_axis, 1]
        columns = np.searchsorted(reference.horizontal_mm, h)
        rows = np.searchsorted(reference.vertical_mm, v)
        np.testing.assert_array_equal(cropped.values, reference.values[np.ix_(rows, columns)])


def test_scalp_views_show_patients_left_on_the_left_seen_from_above():
    """Projected 3-D views: from above, left is left and anterior up; from the left, the nose is left
    and the vertex up."""
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=HEAD_RADIUS_MM)
    on_scalp = lambda p: np.asarray(p, float) / np.linalg.norm(p) * HEAD_RADIUS_MM  # noqa: E731
    markers = [Marker("L", on_scalp([-60.0, 0.0, 60.0]), "#ff0000", "o", "left"),
               Marker("A", on_scalp([-40.0, 55.0, 40.0]), "#0000ff", "o", "anterior"),
               Marker("S", on_scalp([-30.0, 0.0, 80.0]), "#00ff00", "o", "superior")]
    png = render_scalp_views(np.asarray(sphere.vertices), np.asarray(sphere.faces), None, markers, dpi=40)
    image = matplotlib.image.imread(io.BytesIO(png))[..., :3]
    height, width = image.shape[:2]
    image = image[: int(0.8 * height)]  # above the legend, which repeats the marker colours

    def centre_of(rgb, columns):
        hits = np.argwhere(np.all(np.abs(image[:, columns] - rgb) < 0.15, axis=-1))
        assert len(hits) > 0, rgb
        return hits.mean(axis=0)  # (row, column within the view)

    side, above = slice(0, width // 2), slice(width // 2, width)  # no coil: two views
    view_centre = width // 4
    left_row, left_column = centre_of((1.0, 0.0, 0.0), above)
    front_row, front_column = centre_of((0.0, 0.0, 1.0), above)
    assert left_column < view_centre - 5, "from above, the patient's left must be on the left"
    assert front_row < left_row, "from above, anterior must be at the top"
    assert centre_of((0.0, 0.0, 1.0), side)[1] < centre_of((1.0, 0.0, 0.0), side)[1], \
        "seen from the patient's left, anterior must be on the left"
    assert centre_of((0.0, 1.0, 0.0), side)[0] < centre_of((1.0, 0.0, 0.0), side)[0] - 5, \
        "seen from the patient's left, superior must be at the top"


def test_hidden_points_match_rays_towards_the_viewer():
    """The screen-grid visibility test gives what trimesh's ray test gives."""
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=HEAD_RADIUS_MM)
    vertices, faces = np.asarray(sphere.vertices), np.asarray(sphere.faces)
    rng = np.random.default_rng(7)
    points = vertices[rng.choice(len(vertices), 400)] * rng.uniform(0.9, 1.15, (400, 1))
    for towards in ([0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.3, -0.5, 0.81]):
        towards = np.asarray(towards) / np.linalg.norm(towards)
        right = np.cross([0.0, 0.0, 1.0], towards) if abs(towards[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        right /= np.linalg.norm(right)
        up = np.cross(towards, right)
        expected = sphere.ray.intersects_any(points + 2.5 * towards, np.repeat(towards[None], len(points), 0))
        hidden = hidden_points(vertices, faces, points, towards, right, up, clearance_mm=2.5)
        assert np.mean(hidden != expected) < 0.01 and 50 < hidden.sum() < 350
