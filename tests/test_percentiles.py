"""navsvc.percentiles.percentile: numpy's value, bit for bit, by selecting inside a bracket."""

from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pytest

from navsvc import percentiles, templates
from navsvc.percentiles import MIN_BRACKETED_SIZE, SAMPLE_STRIDE, percentile

QS = (0.0, 0.1, 0.5, 1.0, 25.0, 37.3, 50.0, 99.0, 99.5, 99.9, 100.0)


def _arrays(rng: np.random.Generator):
    shape = (103, 101, 107)  # 1.11 million values, above MIN_BRACKETED_SIZE
    assert np.prod(shape) >= MIN_BRACKETED_SIZE
    continuous = rng.gamma(2.0, 50.0, size=shape)
    tied = rng.integers(0, 200, size=shape)
    yield "float32", continuous.astype(np.float32)
    yield "float64", continuous
    yield "int16 (ties)", tied.astype(np.int16)
    yield "uint8 (ties)", tied.astype(np.uint8)
    yield "float32, Fortran order", np.asfortranarray(continuous.astype(np.float32))
    yield "float32 ties, reversed view", tied.astype(np.float32)[::-1, :, ::-1]
    yield "float32, 60 % exact zeros (air)", np.where(rng.random(shape) < 0.6, 0.0, continuous).astype(np.float32)


@pytest.mark.parametrize("q", QS)
def test_equals_numpy_bit_for_bit(q):
    for name, values in _arrays(np.random.default_rng(7)):
        assert percentile(values, q) == float(np.percentile(values, q)), (name, q)


def _spy_on_numpy_percentile(monkeypatch) -> list[int]:
    sizes: list[int] = []
    original = np.percentile

    def spy(a, *args, **kwargs):
        sizes.append(np.size(a))
        return original(a, *args, **kwargs)

    monkeypatch.setattr(percentiles.np, "percentile", spy)
    return sizes


def test_a_head_is_bracketed_not_selected_whole(monkeypatch):
    """On the 1 mm Colin27 head numpy's percentile sees only the strided sample."""
    data = np.asarray(nib.load(str(templates.COLIN_HEAD)).dataobj, dtype=np.float32)
    expected = float(np.percentile(data, 99.5))
    sizes = _spy_on_numpy_percentile(monkeypatch)
    assert percentile(data, 99.5) == expected
    assert sizes and max(sizes) <= data.size // SAMPLE_STRIDE + 1


def test_a_sample_unlike_the_array_falls_back_to_numpy(monkeypatch):
    """Every 97th value (the sample's stride) is 0, the rest above it: the bracket [0, 0]
    misses the 99.5th percentile and numpy selects over the whole array."""
    values = np.random.default_rng(11).uniform(1.0, 2.0, MIN_BRACKETED_SIZE + 1).astype(np.float32)
    values[::SAMPLE_STRIDE] = 0.0
    expected = float(np.percentile(values, 99.5))
    sizes = _spy_on_numpy_percentile(monkeypatch)
    assert percentile(values, 99.5) == expected
    assert max(sizes) == values.size


def test_nan_gives_nan_as_in_numpy():
    values = np.random.default_rng(3).random(MIN_BRACKETED_SIZE + 10)
    values[12345] = np.nan
    assert math.isnan(percentile(values, 50.0)) and math.isnan(float(np.percentile(values, 50.0)))
    values[: values.size // 2] = 0.0  # ties at the bracket's lower end, where nothing is selected
    values[-12345] = np.nan
    assert math.isnan(percentile(values, 0.1)) and math.isnan(float(np.percentile(values, 0.1)))


def test_ties_at_the_lower_end_are_counted_not_selected(monkeypatch):
    """Colin27 in a 256³ field of view, 75 % of its voxels exactly 0: its 0.1th percentile
    (the air level on loading) is found by counting, with no selection at all."""
    colin = np.asarray(nib.load(str(templates.COLIN_HEAD)).dataobj, dtype=np.float32)
    data = np.zeros((256, 256, 256), dtype=np.float32, order="F")
    data[37:218, 19:236, 37:218] = colin
    expected = float(np.percentile(data, 0.1))
    selections = []
    monkeypatch.setattr(percentiles.np, "partition", lambda *a, **k: selections.append(1))
    assert percentile(data, 0.1) == expected == 0.0
    assert not selections


def test_small_arrays_and_all_orders_agree():
    values = np.random.default_rng(5).normal(size=(40, 50, 60)).astype(np.float32)
    for view in (values, values[::-1], values.transpose(2, 0, 1), np.asfortranarray(values)):
        assert percentile(view, 99.5) == float(np.percentile(values, 99.5))


@pytest.mark.parametrize("q", (-0.1, 100.5))
def test_percentile_outside_0_100_is_refused(q):
    with pytest.raises(ValueError, match="0-100"):
        percentile(np.zeros(10), q)


@pytest.mark.parametrize("zeros", [400_001, 400_000, 400_002])
def test_a_percentile_between_the_last_tie_and_the_next_value_interpolates_between_them(zeros):
    # 1,000,001 values, 40.00005 % of the way: halfway between order statistics 400,000 and
    # 400,001. With 400,001 zeros the first is the last zero and the second the first 7.0:
    # the answer is 3.5, not the ties' 0.0
    values = np.full(1_000_001, 7.0)
    values[:zeros] = 0.0
    values[zeros:] += np.arange(1_000_001 - zeros) * 1e-6
    np.random.default_rng(zeros).shuffle(values)
    assert percentile(values, 40.00005) == float(np.percentile(values, 40.00005))
    if zeros == 400_001:
        assert percentile(values, 40.00005) == pytest.approx(3.5)
