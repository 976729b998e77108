"""Inputs that load fine but cannot be planned: refused with a clear message, no plan."""

from __future__ import annotations

import os
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest

from navsvc import templates
from navsvc.errors import InputError
from navsvc.pipeline import make_plan
from navsvc.testing import heads


def _save(tmp_path, data, name, affine=None):
    path = tmp_path / name
    nib.save(nib.Nifti1Image(data.astype(np.float32), np.diag([1.0, 1, 1, 1]) if affine is None else affine), str(path))
    return path


def test_noise_volume_is_refused_by_the_registration_quality_check(tmp_path, system_tmp):
    rng = np.random.default_rng(0)
    path = _save(tmp_path, rng.normal(100, 30, (160, 190, 170)).clip(0), "noise.nii.gz")
    with pytest.raises(InputError, match="does not look like a T1-weighted head MRI"):
        make_plan(path, tmp_path / "out")
    assert not (tmp_path / "out" / "plan.json").exists()
    assert not list(system_tmp.iterdir()), "a refused plan left its registration files behind"
    assert not list((tmp_path / "out").glob(".registration-*")), "a refused plan left its registration files behind"


def test_phantom_is_refused(tmp_path):
    # a uniform cylinder phantom (what a QA scan looks like)
    i, j, k = np.mgrid[:160, :190, :170]
    cylinder = ((i - 80) ** 2 + (j - 95) ** 2 < 60**2) & (k > 20) & (k < 150)
    path = _save(tmp_path, cylinder * 800.0 + 5.0, "phantom.nii.gz")
    with pytest.raises(InputError) as err:
        make_plan(path, tmp_path / "out")
    assert "T1" in str(err.value)
    assert not (tmp_path / "out" / "plan.json").exists()


def test_skull_stripped_brain_is_refused_with_a_request_for_the_unstripped_t1(tmp_path, system_tmp):
    head = nib.load(str(templates.COLIN_HEAD))
    mask = heads.load_colin27_brain_mask()
    path = _save(tmp_path, np.where(mask, np.asanyarray(head.dataobj), 0), "brain.nii.gz", head.affine)
    with pytest.raises(InputError, match="skull-stripped.*unstripped T1"):
        make_plan(path, tmp_path / "out")
    assert not (tmp_path / "out" / "plan.json").exists()
    assert not list(system_tmp.iterdir()), "a refused plan left its registration files behind"
    assert not list((tmp_path / "out").glob(".registration-*")), "a refused plan left its registration files behind"


@pytest.mark.parametrize("noise", [0.16, 0.20])
def test_a_head_lost_in_background_noise_is_refused_as_too_noisy(tmp_path, noise):
    # With 20 % Rician noise the air passed for head and the coil was placed on the image's
    # front face (scalp-to-cortex 38 mm, dose offset -44 %MSO); the head-outline check then
    # refused it. At 16 % the outline check passed and the plan was refused for a field of
    # view cutting the head, which told the user to upload a larger one.
    noisy = heads.add_rician_noise(heads.load_colin27(), np.random.default_rng(5), noise).image
    nib.save(noisy, str(tmp_path / "noisy.nii.gz"))
    with pytest.raises(InputError, match=r"too noisy: the noise in the air around the head is \d+ % of the brain"):
        make_plan(tmp_path / "noisy.nii.gz", tmp_path / "out")


def test_inverted_contrast_is_refused_as_not_t1(tmp_path):
    # Colin27 with its brain intensities inverted (white matter dark, fluid bright): a T2 stand-in
    head = nib.load(str(templates.COLIN_HEAD))
    data = np.asanyarray(head.dataobj).astype(np.float32)
    mask = heads.load_colin27_brain_mask()
    top = np.percentile(data[mask], 99)
    data[mask] = np.clip(top - data[mask], 0, None) + 0.1 * top
    path = _save(tmp_path, data, "t2like.nii.gz", head.affine)
    with pytest.raises(InputError, match="contrast is inverted.*T2-weighted or FLAIR"):
        make_plan(path, tmp_path / "out")
    assert not (tmp_path / "out" / "plan.json").exists()


def test_a_head_whose_skin_is_as_dark_as_air_is_refused_not_planned_on_a_broken_scalp(tmp_path, system_tmp):
    # to the power 4 the skin and muscle fall below the head threshold and its halves: the
    # "scalp" was a broken shell of scalp fat, and the plan put the entry 8.1 mm off, the
    # scalp-to-cortex distance at 7.1 mm instead of 15.4 (registration quality 0.798)
    nib.save(heads.raise_to_power(heads.load_colin27(), 4.0).image, str(tmp_path / "t1.nii.gz"))
    with pytest.raises(InputError, match=r"holds only \d+% of the brain.*without fat suppression"):
        make_plan(tmp_path / "t1.nii.gz", tmp_path / "out")
    assert not (tmp_path / "out" / "plan.json").exists()
    assert not list(system_tmp.iterdir()), "a refused plan left its registration files behind"


def test_a_head_whose_scalp_fell_apart_from_its_brain_is_planned_on_its_scalp(tmp_path, colin_plan):
    # to the power 2.5 the brain and the scalp fat are two pieces above the head threshold:
    # the scalp was refused as missing ("skull-stripped"). Halving the threshold joins them
    nib.save(heads.raise_to_power(heads.load_colin27(), 2.5).image, str(tmp_path / "t1.nii.gz"))
    plan = make_plan(tmp_path / "t1.nii.gz", tmp_path / "out")
    for block, key, atol_mm in [("target", "native_ras_mm", 1.5), ("target", "cortex_ras_mm", 1.5),
                                ("entry", "scalp_ras_mm", 2.5)]:
        np.testing.assert_allclose(plan[block][key], colin_plan[block][key], atol=atol_mm, err_msg=f"{block}.{key}")
    assert abs(plan["entry"]["scalp_to_cortex_mm"] - colin_plan["entry"]["scalp_to_cortex_mm"]) < 2.5


def test_a_turned_head_whose_scalp_sank_onto_the_brain_is_refused_as_bad_input(tmp_path, capsys):
    # to the power 2.5 and turned 30 degrees (resampling joins the brain and the scalp fat at
    # the head threshold): the scalp surface broke above the target, which lay 2.8 mm under it.
    # That ended the plan as an internal failure (exit 1); it is the image's contrast (exit 2)
    from navsvc.cli import main

    case = heads.raise_to_power(heads.load_colin27(), 2.5).then(
        lambda im: heads.rigid(im, (-29.56, 7.65, -7.23), (-12.73, 16.02, 11.05)))
    nib.save(case.image, str(tmp_path / "t1.nii.gz"))
    assert main(["plan", str(tmp_path / "t1.nii.gz"), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "under the scalp found in this image" in error and "plain T1-weighted" in error
    assert not (tmp_path / "out" / "plan.json").exists()


def test_a_head_whose_scalp_over_the_hand_knob_lies_on_the_brain_is_refused_as_bad_input(tmp_path, capsys):
    # to the power 2, unmoved: the scalp point nearest the hand knob lay on the brain's lateral
    # surface, 18 mm from the knob and 1.0 mm from grey matter. It was planned, with no dose
    # suggestion ("a measurement error") and the 5-cm site measured from that point
    from navsvc.cli import main

    nib.save(heads.raise_to_power(heads.load_colin27(), 2.0).image, str(tmp_path / "t1.nii.gz"))
    assert main(["plan", str(tmp_path / "t1.nii.gz"), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("navsvc: error: the cortex at the motor hand knob lies 1.0 mm under the scalp found in "
                            "this image, less than scalp and skull are thick (5 mm): the scalp surface there is not the "
                            "skin")
    assert "plain T1-weighted" in error
    assert not (tmp_path / "out" / "plan.json").exists()


@pytest.mark.parametrize("quality, spread, message", [
    (0.2, 1.1, "does not look like a T1-weighted head MRI.*holding the whole head$"),
    (-0.81, 1.1, "contrast is inverted"),
    (0.496, 1.29, r"correlates only 0\.496 .*varies across the brain by a factor of 1\.29 .*Prescan Normalize"),
    (0.2, 1.14, r"does not look like a T1-weighted head MRI.*whole head$"),
    (0.492, 1.22, r"does not look like a T1-weighted head MRI.*whole head.*factor of 1\.22 .*intensity normalization"),
    # each limit belongs to the side it names: -0.3 is inverted, 1.25 uneven, 1.15 possibly uneven
    (-0.3, 1.1, "contrast is inverted"),
    (0.2, 1.25, r"correlates only 0\.200 .*varies across the brain by a factor of 1\.25 .*Prescan Normalize"),
    (0.2, 1.15, r"does not look like a T1-weighted head MRI.*whole head.*factor of 1\.15 .*intensity normalization")])
def test_registration_quality_refusals_say_why(quality, spread, message):
    from navsvc.registration_checks import MIN_BRAIN_CORRELATION, require_quality

    with pytest.raises(InputError, match=message):
        require_quality(quality, spread)
    require_quality(MIN_BRAIN_CORRELATION, 2.0)  # the threshold itself passes, uneven or not


def test_a_quality_refusal_without_a_spread_takes_the_head_as_evenly_lit():
    from navsvc.registration_checks import require_quality

    with pytest.raises(InputError, match="whole head$"):
        require_quality(0.2)


def test_a_head_lit_by_an_unnormalized_receive_coil_is_refused_naming_the_cause(tmp_path):
    # three times as bright on a head-sized ellipsoid as at the centre: N4 takes out part of
    # it, and the registration, none of the rest (planned with the refusal off: 4.6 mm off)
    nib.save(heads.multiply_receive_coil_profile(heads.load_colin27(), 3.0).image, str(tmp_path / "t1.nii.gz"))
    with pytest.raises(InputError, match=r"varies across the brain by a factor of 1\.[3-9]\d.*Prescan Normalize"):
        make_plan(tmp_path / "t1.nii.gz", tmp_path / "out")
    assert not (tmp_path / "out" / "plan.json").exists()


def test_a_head_lit_by_a_milder_receive_coil_profile_is_corrected_in_any_voxel_order_with_a_caution(
        tmp_path, capsys, colin_plan):
    # twice as bright on the ellipsoid: the brain stage corrects it as uneven (bias field
    # spread 1.22) and maps the target 0.9 mm from Colin27's own plan (3.6 mm without that
    # correction); the quality of the uncorrected image, 0.543, is low: the plan, its summary
    # and its report carry a caution
    import json

    from navsvc.cli import main

    nib.save(heads.multiply_receive_coil_profile(heads.load_colin27(), 2.0).image, str(tmp_path / "t1.nii.gz"))
    assert main(["plan", str(tmp_path / "t1.nii.gz"), "--out", str(tmp_path / "out")]) == 0
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["registration"]["intensity"]["uneven_corrected"] is True
    assert not colin_plan["registration"]["intensity"]["uneven_corrected"]
    mapped_error_mm = np.linalg.norm(np.subtract(plan["target"]["native_ras_mm"], colin_plan["target"]["native_ras_mm"]))
    assert mapped_error_mm < 2.0
    quality = plan["registration"]["quality"]
    assert quality["value"] < 0.6 and quality["caution"].startswith(f"the registration quality, {quality['value']:.3f}")
    summary = capsys.readouterr().out
    assert f"warning         {quality['caution']}" in summary
    assert "intensity       uneven: the bias field spans a factor of 1.2" in summary
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "The registration quality," in report and "corrected more strongly before registration" in report
    # the same head stored in another voxel order takes the same path to the same points
    nib.save(heads.reorient(nib.load(str(tmp_path / "t1.nii.gz")), (2, 0, 1), (True, False, True)).image,
             str(tmp_path / "t1_reordered.nii.gz"))
    reordered = make_plan(tmp_path / "t1_reordered.nii.gz", tmp_path / "out_reordered")
    assert reordered["registration"]["intensity"] == plan["registration"]["intensity"]
    for block, key in [("target", "native_ras_mm"), ("target", "cortex_ras_mm"), ("entry", "scalp_ras_mm")]:
        np.testing.assert_allclose(reordered[block][key], plan[block][key], atol=0.5, err_msg=f"{block}.{key}")


@pytest.mark.parametrize("quality, cautioned", [(0.5, True), (0.599, True), (0.6, False), (0.81, False)])
def test_a_low_registration_quality_is_cautioned(quality, cautioned):
    from navsvc.registration_checks import quality_caution

    caution = quality_caution(quality)
    assert (caution is not None) is cautioned
    if cautioned:
        assert f"{quality:.3f}" in caution and "QC report" in caution


def test_the_bias_field_spread_is_the_fields_range_inside_the_brain():
    from navsvc.patient_brain import bias_field_spread

    head = np.linspace(1.0, 2.0, 1000).reshape(10, 10, 10)  # a field from 1 to 2 on an even tissue
    corrected = np.ones_like(head)
    mask = np.ones(head.shape, bool)
    assert bias_field_spread(head, corrected, mask) == pytest.approx(1.95 / 1.05, rel=1e-3)
    assert bias_field_spread(corrected * 7.0, corrected, mask) == pytest.approx(1.0)
    mask[5:] = False  # only the mask counts: there, the field runs from 1 to 1.5
    assert bias_field_spread(head, corrected, mask) < 1.5


def test_a_native_target_outside_the_image_fails_before_registration(tmp_path, colin_head_path, monkeypatch):
    from navsvc import pipeline
    from navsvc.options import PlanOptions

    monkeypatch.setattr(pipeline, "registration_to_mni", lambda *a: pytest.fail("registration ran"))
    with pytest.raises(InputError, match=r"native target \[0.0, 0.0, 500.0\] mm lies outside the image"):
        make_plan(colin_head_path, tmp_path / "out", PlanOptions(native_ras_mm=(0.0, 0.0, 500.0)))


@pytest.mark.parametrize("mni_mm, message", [
    # above the vertex: no grey matter within 10 mm
    ((-30.0, 20.0, 110.0), r"MNI target \[-30.0, 20.0, 110.0\].*no grey matter.*choose a point on the cortex"),
    # the caudate: grey matter, 37 mm below the brain's surface (62 mm under the scalp)
    ((-24.0, -12.0, 28.0), r"below the brain's surface.*deeper than any TMS coil reaches.*Choose a point on the cortex"),
    # by the caudate head: 29 mm from the nearest brain surface, about 50 mm under the surface below the entry
    # (planned with a +14.5 %MSO dose suggestion until 2026-12-06)
    ((-15.0, 5.0, 10.0), r"target lies [45]\d mm below the brain's surface.*deeper than any TMS coil reaches"),
])
def test_a_chosen_coordinate_off_the_cortex_is_bad_input(tmp_path, colin_head_path, mni_mm, message):
    from navsvc.options import PlanOptions

    with pytest.raises(InputError, match=message):
        make_plan(colin_head_path, tmp_path / "out", PlanOptions(mni_mm=mni_mm))
    assert not (tmp_path / "out" / "plan.json").exists()


def test_unknown_strategy_fails_before_any_work(tmp_path, colin_head_path):
    from navsvc.options import PlanOptions

    with pytest.raises(InputError, match="unknown strategy 'dlpfc'.*fox2012"):
        make_plan(colin_head_path, tmp_path / "out", PlanOptions(strategy="dlpfc"))


def test_command_line_bad_input_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "notes.nii.gz"
    bad.write_text("this is not an image")
    done = subprocess.run([sys.executable, "-m", "navsvc.cli", "plan", str(bad), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert done.returncode == 2
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("navsvc: error:") and "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists(), "a refused plan left the output folder it created"


@pytest.mark.parametrize("threads", ["0", "two"])
def test_an_invalid_thread_setting_is_one_error_line_not_a_traceback(tmp_path, threads):
    # read when the registration module is imported: pydantic's 30-line traceback, exit 1
    done = subprocess.run([sys.executable, "-m", "navsvc.cli", "plan", str(tmp_path / "t1.nii.gz"),
                           "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, env=os.environ | {"NAVSVC_THREADS": threads})
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"navsvc: error: invalid setting: NAVSVC_THREADS='{threads}': ")
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_bad_input_removes_every_folder_it_created_and_keeps_the_others(tmp_path):
    bad = tmp_path / "notes.nii.gz"
    bad.write_text("this is not an image")
    with pytest.raises(InputError):
        make_plan(bad, tmp_path / "p1" / "p2" / "p3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.nii.gz"]


def test_an_output_folder_name_too_long_for_the_file_system_is_bad_input(tmp_path):
    bad = tmp_path / "notes.nii.gz"
    bad.write_text("this is not an image")
    done = subprocess.run([sys.executable, "-m", "navsvc.cli", "plan", str(bad), "--out", str(tmp_path / ("o" * 300))],
                          capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("navsvc: error: cannot use") and "Traceback" not in done.stderr


def _earlier_plan(folder):
    """An output folder holding an earlier run's plan; returns its files' contents."""
    (folder / "transforms").mkdir(parents=True)
    (folder / "transforms" / "native_to_mni_1Warp.nii.gz").write_bytes(b"earlier warp")
    (folder / "plan.json").write_text('{"earlier": true}')
    (folder / "report.html").write_text("earlier report")
    (folder / "notes.txt").write_text("the clinician's own file")
    return _contents(folder)


def _contents(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_bad_input_leaves_an_earlier_plan_in_the_output_folder_as_it_was(tmp_path):
    bad = tmp_path / "notes.nii.gz"
    bad.write_text("this is not an image")
    before = _earlier_plan(tmp_path / "o")
    with pytest.raises(InputError):
        make_plan(bad, tmp_path / "o")
    assert _contents(tmp_path / "o") == before


def test_a_plan_failing_after_registration_leaves_an_earlier_plan_as_it_was(colin_head_path, tmp_path, monkeypatch):
    # The transforms were copied into the output folder before the report was drawn: a
    # failure there left the earlier plan.json beside this run's transforms.
    from navsvc import pipeline

    def report_fails(*args, **kwargs):
        raise RuntimeError("disk full while drawing the report")

    monkeypatch.setattr(pipeline, "report_writer", lambda: report_fails)
    before = _earlier_plan(tmp_path / "o")
    with pytest.raises(RuntimeError, match="disk full"):
        make_plan(colin_head_path, tmp_path / "o")
    assert _contents(tmp_path / "o") == before
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["notes.txt", "plan.json", "report.html", "transforms"]


def test_command_line_internal_failure_exits_1_with_one_line(tmp_path, monkeypatch, capsys):
    from navsvc import pipeline
    from navsvc.cli import main
    from navsvc.errors import PipelineError

    def diverged(*args, **kwargs):
        raise PipelineError("registration diverged")

    monkeypatch.setattr(pipeline, "make_plan", diverged)
    assert main(["plan", str(tmp_path / "t1.nii.gz"), "--out", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err.strip() == "navsvc: failed: registration diverged"
