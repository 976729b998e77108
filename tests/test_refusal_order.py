"""The order of refusals when the registration and the native anatomy (built beside it) both
find a problem: the registration's checks speak first, and name what the anatomy found too."""

from __future__ import annotations

import pytest

from navsvc.errors import InputError


class _FakePending:
    """A registration that has run its head stage; ``result()`` records that it was awaited."""

    def __init__(self, quality: float, events: list):
        self.head, self._quality, self._events = "head alignment", quality, events

    def result(self):
        self._events.append("registration awaited")
        return type("FakeRegistration", (), {"quality_correlation": self._quality, "bias_field_spread": 1.1})()


def _registration_with_anatomy(monkeypatch, tmp_path, quality: float, anatomy, events: list, timer=None):
    from contextlib import contextmanager

    from navsvc import pipeline
    from navsvc.progress import StageTimer

    @contextmanager
    def registration(coarse, scratch):
        yield _FakePending(quality, events)

    monkeypatch.setattr(pipeline, "registration_to_mni", registration)
    monkeypatch.setattr(pipeline, "native_anatomy", anatomy)
    monkeypatch.setattr(pipeline, "require_handedness", lambda reg: events.append("handedness checked"))
    return pipeline.register_with_anatomy(None, None, tmp_path, timer or StageTimer())


def _no_scalp(t1, coarse, head):
    assert head == "head alignment"  # built from the head stage, before the registration ends
    raise InputError("no scalp: give the unstripped T1")


def test_the_registrations_refusal_comes_before_the_anatomys(monkeypatch, tmp_path):
    # a noise volume has no scalp either: the registration's message says what is wrong
    events = []
    with pytest.raises(InputError, match="does not look like a T1-weighted head MRI"):
        _registration_with_anatomy(monkeypatch, tmp_path, 0.1, _no_scalp, events)
    assert events == ["registration awaited"]


def test_the_anatomys_refusal_is_raised_once_the_registration_passes_its_checks(monkeypatch, tmp_path):
    events = []
    with pytest.raises(InputError, match="no scalp"):
        _registration_with_anatomy(monkeypatch, tmp_path, 0.8, _no_scalp, events)
    assert events == ["registration awaited", "handedness checked"]


def test_the_anatomy_is_built_inside_the_registration_stage(monkeypatch, tmp_path):
    from navsvc.progress import StageTimer

    events, started = [], []
    timer = StageTimer(started.append)
    registration, anatomy = _registration_with_anatomy(
        monkeypatch, tmp_path, 0.8, lambda t1, coarse, head: f"anatomy of the {head}", events, timer)
    assert anatomy == "anatomy of the head alignment"
    assert registration.quality_correlation == 0.8
    assert events == ["registration awaited", "handedness checked"]
    assert started == ["registration", "anatomy"]  # the progress display shows each stage once
    assert timer.seconds["registration"] >= timer.seconds["anatomy"]  # the anatomy overlaps the SyN stage


def _ghosted(t1, coarse, head):
    from navsvc.anatomy.ghost import require_little_ghosting

    require_little_ghosting([0.0, 47.0, 0.0], ("R", "A", "S"))


def test_a_failed_registration_names_the_ghosting_too(monkeypatch, tmp_path):
    # strong motion spoils the registration as well: its refusal comes first and names both
    with pytest.raises(InputError, match=r"does not look like a T1-weighted head MRI.*\. It also holds ghosts of the "
                                         r"head smeared front-back into the air at 47 % of the brain's signal"):
        _registration_with_anatomy(monkeypatch, tmp_path, 0.1, _ghosted, [])
    with pytest.raises(InputError, match="^the image holds ghosts of the head"):
        _registration_with_anatomy(monkeypatch, tmp_path, 0.8, _ghosted, [])
