"""Tests for hk.pad: padding arithmetic, create_* helpers, is_padfn, errors."""

from __future__ import annotations

import numpy as np
import pytest

import haiku_core as hk
from haiku_core import pad

# Hand table: k -> (valid, same, full, causal, reverse_causal)
_TABLE = {
    1: ((0, 0), (0, 0), (0, 0), (0, 0), (0, 0)),
    2: ((0, 0), (0, 1), (1, 1), (1, 0), (0, 1)),
    3: ((0, 0), (1, 1), (2, 2), (2, 0), (0, 2)),
    4: ((0, 0), (1, 2), (3, 3), (3, 0), (0, 3)),
    7: ((0, 0), (3, 3), (6, 6), (6, 0), (0, 6)),
}
_FNS = (pad.valid, pad.same, pad.full, pad.causal, pad.reverse_causal)


@pytest.mark.parametrize("k", sorted(_TABLE))
def test_padding_functions_hand_table(k):
    assert tuple(f(k) for f in _FNS) == _TABLE[k]


def _conv1d_numpy(x, w, before, after):
    """Plain-loop 1-D cross-correlation of x [L] with w [K] after zero padding."""
    xp = np.concatenate([np.zeros(before), x, np.zeros(after)])
    n_out = len(xp) - len(w) + 1
    return np.array([sum(xp[t + j] * w[j] for j in range(len(w))) for t in range(n_out)])


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_padding_output_lengths_and_causality(k):
    length = 6
    w = np.arange(1, k + 1, dtype=np.float64)
    lengths = {}
    for f in _FNS:
        before, after = f(k)
        lengths[f.__name__] = len(_conv1d_numpy(np.zeros(length), w, before, after))
    assert lengths == {
        "valid": length - k + 1,
        "same": length,
        "full": length + k - 1,
        "causal": length,
        "reverse_causal": length,
    }
    # Impulse at position 2: causal outputs before 2 are zero; reverse-causal after 2 are zero.
    x = np.zeros(length)
    x[2] = 1.0
    y = _conv1d_numpy(x, w, *pad.causal(k))
    assert np.all(y[:2] == 0)
    y = _conv1d_numpy(x, w, *pad.reverse_causal(k))
    assert np.all(y[3:] == 0)


def test_create_is_create_from_padfn():
    assert pad.create is pad.create_from_padfn


@pytest.mark.parametrize(
    "args,expected",
    [
        ((pad.same, 3, 1, 2), ((1, 1), (1, 1))),
        ((pad.same, [3, 4], [1, 2], 2), ((1, 1), (3, 3))),  # k_eff = 3, 7
        (([pad.same, pad.causal], 3, [1, 2], 2), ((1, 1), (4, 0))),  # k_eff = 3, 5
        (([pad.full], [3], [2], 3), ((4, 4), (4, 4), (4, 4))),  # k_eff = 5
        ((pad.valid, 5, 3, 1), ((0, 0),)),
        ((lambda k: (k, 2 * k), 2, 3, 1), ((4, 8),)),  # custom padfn gets k_eff = 4
    ],
)
def test_create_from_padfn(args, expected):
    assert pad.create_from_padfn(*args) == expected


@pytest.mark.parametrize(
    "args,what",
    [
        ((pad.same, [3, 4, 5], 1, 2), "kernel"),
        (([pad.same] * 3, 3, 1, 2), "padding"),
        ((pad.same, 3, [1, 2, 3], 2), "rate"),
    ],
)
def test_create_from_padfn_bad_lengths(args, what):
    with pytest.raises(TypeError, match=rf"create_from_padfn.*`{what}`.*length 1 or 2.*3"):
        pad.create_from_padfn(*args)


def test_create_from_padfn_not_callable():
    with pytest.raises(TypeError, match=r"create_from_padfn.*padding function.*'same'"):
        pad.create_from_padfn("same", 3, 1, 2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "args,expected",
    [
        (((1, 2), 3), ((1, 2), (1, 2), (1, 2))),
        (([1, 2], 2), ((1, 2), (1, 2))),
        (([(1, 2), (3, 4)], 2), ((1, 2), (3, 4))),
        (([[1, 2], [3, 4]], 2), ((1, 2), (3, 4))),
        (([(1, 2)], 2), ((1, 2), (1, 2))),
        (((np.int64(0), np.int64(1)), 1), ((0, 1),)),
    ],
)
def test_create_from_tuple(args, expected):
    out = pad.create_from_tuple(*args)
    assert out == expected and all(type(p) is tuple for p in out)


def test_create_from_tuple_errors():
    with pytest.raises(TypeError, match=r"create_from_tuple.*length 1 or 3.*got length 2"):
        pad.create_from_tuple([(1, 2), (3, 4)], 3)
    with pytest.raises(TypeError, match=r"create_from_tuple.*got 1\b"):
        pad.create_from_tuple(1, 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"create_from_tuple.*'ab'"):
        pad.create_from_tuple("ab", 2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value,expected",
    [
        (pad.same, True),
        ([pad.same, pad.full], True),
        ((pad.causal,), True),
        (lambda k: (0, 0), True),
        ([], False),
        ("SAME", False),
        ((1, 2), False),
        ([pad.same, 1], False),
        (None, False),
    ],
)
def test_is_padfn(value, expected):
    assert pad.is_padfn(value) is expected


def test_namespace_attribute():
    assert hk.pad.same is pad.same
    assert hk.pad.PadFn is pad.PadFn
