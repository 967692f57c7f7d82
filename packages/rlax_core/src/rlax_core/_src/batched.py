"""Batched, episode-aware returns and TD targets with gymnasium's terminated / truncated flags.

Every function here takes a whole batch of rollouts, time-major ``[T, B]`` by default
(``time_axis=1`` for batch-major ``[B, T]``; results come back in the caller's layout), and
splits each environment's rollout into episodes itself. Per step ``t`` of environment ``b``:

* ``r_t[t]``: the reward of the transition that starts at observation ``obs_t``;
* ``terminated[t]``: the transition ended the episode in a true terminal state (nothing is
  bootstrapped from it);
* ``truncated[t]``: the episode was cut (e.g. a time limit) after the transition; the target
  bootstraps from the value of the FINAL observation of that episode (gymnasium's
  ``final_obs``), which the caller puts into ``v_tp1[t]`` / ``q_tp1[t]``;
* ``v_tp1[t]``: the value of the next observation (of the final observation on a truncated
  step); ignored on terminated steps, so it may hold anything there (even NaN). ``v_t[t]``
  (where used) is the value of ``obs_t`` itself;
* ``discount_t``: ``gamma``, a scalar or ``[T, B]`` per step; ``lambda_`` likewise.

``done = terminated | truncated``. A recurrence never carries information across a ``done``
step, and the last step of the window (``t = T - 1``) always bootstraps from
``v_tp1[T - 1]`` unless it is terminated. A step that is both terminated and truncated counts
as terminated (no bootstrap): the episode really ended, whatever the time limit said.
``terminated=None`` / ``truncated=None`` mean no such boundary in the window.

Defaults differ from the single-trajectory functions on purpose: targets are
gradient-stopped (``stop_target_gradients=True``), and every ``[T, B]`` argument must have
exactly the shape of ``r_t`` (no implicit broadcasting, apart from scalar ``discount_t`` /
``lambda_``).

Errors: shape, rank and layout problems (``T`` or ``B`` mismatches, wrong ranks, a bad
``time_axis``) raise ``ShapeAssertionError`` (a ``ValueError``); wrong dtypes raise
``DtypeAssertionError`` (a ``TypeError``), except non-boolean ``terminated`` / ``truncated``,
which raise ``BoundaryFlagError``, both a ``TypeError`` and a ``ValueError``. Every message
names ``rlax_core.batched.<function>``, the argument, and expected vs got.

References:
  Towers et al. (2024), Gymnasium: A Standard Interface for Reinforcement Learning
  Environments (terminated vs truncated). https://arxiv.org/abs/2407.17032
  Pardo et al. (2018), Time Limits in Reinforcement Learning, ICML.
  https://arxiv.org/abs/1712.00378
  Schulman et al. (2016), High-Dimensional Continuous Control Using Generalized Advantage
  Estimation, ICLR. https://arxiv.org/abs/1506.02438
  Espeholt et al. (2018), IMPALA, ICML. https://arxiv.org/abs/1802.01561
  Munos et al. (2016), Safe and Efficient Off-Policy Reinforcement Learning, NeurIPS.
  https://arxiv.org/abs/1606.02647
  Peng & Williams (1996), Incremental Multi-Step Q-Learning, Machine Learning 22.
  Gallici et al. (2024), Simplifying Deep Temporal Difference Learning (PQN).
  https://arxiv.org/abs/2407.04811
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from rlax_core._src import scan
from rlax_core._src.tree_util import DtypeAssertionError, ShapeAssertionError
from rlax_core._src.vtrace import VTraceOutput

__all__ = [
    "BoundaryFlagError",
    "VTraceOutput",
    "discounted_returns",
    "gae",
    "lambda_returns",
    "n_step_returns",
    "peng_q_lambda_returns",
    "retrace",
    "td_lambda_errors",
    "vtrace",
    "watkins_q_lambda_returns",
]


class BoundaryFlagError(DtypeAssertionError, ValueError):
    """A ``terminated`` / ``truncated`` flag array that is not boolean.

    Both a ``TypeError`` (a dtype problem, like every other dtype check in rlax-core) and a
    ``ValueError``, so callers may catch either.

    Examples:
      >>> issubclass(BoundaryFlagError, TypeError), issubclass(BoundaryFlagError, ValueError)
      (True, True)
    """


# ----------------------------------------------------------------------------------------------
# Argument checking and layout.


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def _dtype(x: Any) -> Any:
    return jnp.result_type(x)


def _check_time_axis(fn: str, time_axis: Any) -> int:
    """Returns the time axis of the ``[T, B]`` layout as 0 or 1."""
    if isinstance(time_axis, bool) or not isinstance(time_axis, (int, np.integer)):
        raise ShapeAssertionError(
            f"{fn}: `time_axis` must be an int in {{0, 1, -1, -2}} (the time axis of the "
            f"[T, B] arguments), got {time_axis!r}."
        )
    if not -2 <= int(time_axis) <= 1:
        raise ShapeAssertionError(
            f"{fn}: `time_axis` is out of range: the [T, B]-shaped arguments have 2 leading "
            f"axes, so it must be 0, 1, -1 or -2, got {time_axis}."
        )
    return int(time_axis) % 2


class _Args:
    """Checks the arguments of one call and moves them to time-major layout.

    ``layout`` is the caller's ``[T, B]`` (or ``[B, T]``) shape, taken from the first
    sequence argument; every other argument is checked against it.
    """

    def __init__(self, fn: str, time_axis: Any, first: str, x: Any) -> None:
        self.fn = fn
        self.axis = _check_time_axis(fn, time_axis)
        self.first = first
        self._check_rank(first, x, 2, "[T, B]" if self.axis == 0 else "[B, T]")
        self.layout = _shape(x)
        t_dim = self.layout[self.axis]
        b_dim = self.layout[1 - self.axis]
        self.T, self.B = t_dim, b_dim

    def _check_rank(self, name: str, x: Any, rank: int, what: str) -> None:
        shape = _shape(x)
        if len(shape) != rank:
            raise ShapeAssertionError(
                f"{self.fn}: `{name}` must have rank {rank} ({what}), got shape {shape}."
            )

    def _names(self) -> str:
        return "[T, B]" if self.axis == 0 else "[B, T]"

    def _check_layout(self, name: str, x: Any, extra: int = 0) -> None:
        shape = _shape(x)
        want = self._names() if not extra else self._names()[:-1] + ", A]"
        self._check_rank(name, x, 2 + extra, want)
        if shape[:2] != self.layout:
            t_got, b_got = shape[self.axis], shape[1 - self.axis]
            which = []
            if t_got != self.T:
                which.append(f"T {t_got} != {self.T}")
            if b_got != self.B:
                which.append(f"B {b_got} != {self.B}")
            raise ShapeAssertionError(
                f"{self.fn}: `{name}` must have leading shape {self.layout} like `{self.first}` "
                f"({want} with time_axis={self.axis}), got shape {shape} ({', '.join(which)})."
            )

    def _to_time_major(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        return jnp.swapaxes(x, 0, 1) if self.axis == 1 else x

    def from_time_major(self, x: jax.Array) -> jax.Array:
        """Returns a ``[T, B]`` result in the caller's layout."""
        return jnp.swapaxes(x, 0, 1) if self.axis == 1 else x

    def seq(self, name: str, x: Any) -> jax.Array:
        """A float ``[T, B]`` argument, returned time-major."""
        self._check_layout(name, x)
        self._check_float(name, x)
        return self._to_time_major(x)

    def seq_actions(self, name: str, x: Any, num_actions: int | None = None) -> jax.Array:
        """A float ``[T, B, A]`` argument, returned time-major ``[T, B, A]``."""
        self._check_layout(name, x, extra=1)
        self._check_float(name, x)
        if num_actions is not None and _shape(x)[2] != num_actions:
            raise ShapeAssertionError(
                f"{self.fn}: `{name}` must have {num_actions} actions in its last axis (like "
                f"the other [T, B, A] arguments), got shape {_shape(x)}."
            )
        return self._to_time_major(x)

    def int_seq(self, name: str, x: Any) -> jax.Array:
        """An integer ``[T, B]`` argument (actions), returned time-major."""
        self._check_layout(name, x)
        if not jnp.issubdtype(_dtype(x), jnp.integer):
            raise DtypeAssertionError(
                f"{self.fn}: `{name}` must have an integer dtype (action indices), got {_dtype(x)}."
            )
        return self._to_time_major(x)

    def flag(self, name: str, x: Any) -> jax.Array | None:
        """A bool ``[T, B]`` flag or ``None``, returned time-major."""
        if x is None:
            return None
        if _dtype(x) != jnp.bool_:
            raise BoundaryFlagError(
                f"{self.fn}: `{name}` must be a boolean array (or None), got dtype "
                f"{_dtype(x)}; convert with `.astype(bool)`."
            )
        self._check_layout(name, x)
        return self._to_time_major(x)

    def param(self, name: str, x: Any, dtype: Any) -> jax.Array:
        """A real scalar or ``[T, B]`` per-step parameter: a ``[]`` or time-major array."""
        shape = _shape(x)
        if len(shape) not in (0, 2):
            raise ShapeAssertionError(
                f"{self.fn}: `{name}` must be a scalar or a per-step {self._names()} array "
                f"of shape {self.layout}, got shape {shape}."
            )
        kind = _dtype(x)
        if kind == jnp.bool_ or not jnp.issubdtype(kind, jnp.number):
            raise DtypeAssertionError(
                f"{self.fn}: `{name}` must be a real number or array, got dtype {kind}."
            )
        if len(shape) == 2:
            self._check_layout(name, x)
            return self._to_time_major(jnp.asarray(x, dtype))
        return jnp.asarray(x, dtype)

    def _check_float(self, name: str, x: Any) -> None:
        if not jnp.issubdtype(_dtype(x), jnp.floating):
            raise DtypeAssertionError(
                f"{self.fn}: `{name}` must have a floating-point dtype, got {_dtype(x)}."
            )


def _float_dtype(*xs: Any) -> Any:
    dtype = jnp.result_type(*xs)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    return dtype


def _flags(
    T: int, B: int, terminated: jax.Array | None, truncated: jax.Array | None
) -> dict[str, jax.Array]:
    """The ``[T, B]`` bool masks that cut the recurrences: ``term``, ``last`` and ``trunc``.

    ``term``: no bootstrap at this step; ``last``: the last step of the window; ``trunc``
    (absent when ``truncated`` is None): the episode was cut after this step.
    """
    flags = {
        "term": jnp.zeros((T, B), bool) if terminated is None else terminated,
        "last": jnp.broadcast_to((jnp.arange(T) == T - 1).reshape(T, 1), (T, B)),
    }
    if truncated is not None:
        flags["trunc"] = truncated
    return flags


def _cont(x: dict[str, jax.Array]) -> jax.Array:
    """True where the recurrence continues into ``t + 1`` (no episode or window end).

    Coefficient functions call it on one time step of the masks: on CPU, combining the masks
    inside the scan body is several times faster than scanning over a precomputed mask.
    """
    stop = x["term"] | x["last"]
    if "trunc" in x:
        stop = stop | x["trunc"]
    return ~stop


def _unread_on(term: jax.Array, x: jax.Array) -> jax.Array:
    """Zeroes ``x`` ([T, B] or [T, B, A]) on terminated steps, where it must not be read.

    Bootstrap values of terminated steps are multiplied by a zero discount; replacing them
    first keeps a NaN or inf there (e.g. an unused final-observation value) out of the result.
    """
    mask = term if x.ndim == 2 else term.reshape(*term.shape, 1)
    return jnp.where(mask, jnp.zeros((), x.dtype), x)


def _maybe_stop(x: jax.Array, stop: Any) -> jax.Array:
    if isinstance(stop, bool):
        return jax.lax.stop_gradient(x) if stop else x
    return jax.lax.select(jnp.asarray(stop, bool), jax.lax.stop_gradient(x), x)


def _solve(
    coefficients: Any, inputs: dict[str, jax.Array], dtype: Any, method: Any, unroll: Any, fn: str
) -> jax.Array:
    """Solves ``x_t = b_t + a_t x_{t+1}`` over ``[T, B]`` with ``(a_t, b_t) = coefficients(x)``.

    ``inputs`` maps names to ``[T, B]`` arrays or ``[]`` scalars; ``coefficients`` receives
    the same names, one time step of each array (or all of them, for long horizons and the
    associative solver) and the scalars unchanged. Every caller sets ``a_{T-1} = 0``, so the
    value after the window (``x_T``) is never used.
    """
    per_step = {k: v for k, v in inputs.items() if jnp.ndim(v) > 0}
    constants = {k: v for k, v in inputs.items() if jnp.ndim(v) == 0}
    init = jnp.zeros(per_step["term"].shape[1:], dtype)
    return scan.affine_recurrence_reverse(
        lambda x: coefficients({**constants, **x}),
        per_step,
        init,
        method=method,
        unroll=unroll,
        fn=fn,
    )


def _lambda_coefficients(x: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
    # G_t = r_t + [not term] g_t ((1 - l_t) v_t + l_t G_{t+1}), with l_t = 0 where cut.
    zero = jnp.zeros((), x["r"].dtype)
    lam = jnp.where(_cont(x), x["lam"], zero)
    boot = jnp.where(x["term"], zero, x["g"] * (1.0 - lam) * x["v"])
    return x["g"] * lam, x["r"] + boot


def _lambda_core(r, v_tp1, discount, lam, flags, method, unroll, fn):
    """Episode-aware lambda-returns of time-major ``[T, B]`` inputs (scalars allowed)."""
    inputs = dict(r=r, v=v_tp1, g=discount, lam=lam, **flags)
    return _solve(_lambda_coefficients, inputs, r.dtype, method, unroll, fn)


# ----------------------------------------------------------------------------------------------
# Returns.


def discounted_returns(
    r_t: ArrayLike,
    v_tp1: ArrayLike,
    discount_t: ArrayLike,
    *,
    terminated: ArrayLike | None = None,
    truncated: ArrayLike | None = None,
    time_axis: int = 0,
    stop_target_gradients: bool = True,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Episode-aware discounted returns of a batch of rollouts.

    ``G_t = r_t + g_t (1 - terminated_t) * (v_tp1_t if truncated_t or t = T-1 else G_{t+1})``.

    Args:
      r_t: ``[T, B]`` rewards (``[B, T]`` with ``time_axis=1``).
      v_tp1: ``[T, B]`` values of the next observations (of the final observation on
        truncated steps); ignored on terminated steps.
      discount_t: ``[]`` or ``[T, B]`` discount ``gamma``.
      terminated: ``[T, B]`` bool, true where the transition reached a terminal state, or None.
      truncated: ``[T, B]`` bool, true where the episode was cut after the transition, or None.
      time_axis: axis of time in every ``[T, B]`` argument (0, or 1 for ``[B, T]``).
      stop_target_gradients: stop gradients through the returns (default True).
      method: ``"auto"``, ``"sequential"`` or ``"associative"`` recurrence solver.
      unroll: ``jax.lax.scan`` unroll of the sequential solver.

    Returns:
      ``[T, B]`` returns, in the caller's layout.

    Raises:
      ValueError: on shape, rank or ``time_axis`` errors.
      TypeError: on non-float inputs or non-bool flags.

    Examples:
      >>> r = jnp.ones((3, 1))
      >>> print(discounted_returns(r, jnp.full((3, 1), 10.0), 0.5,
      ...       terminated=jnp.array([[False], [True], [False]])).ravel())
      [1.5 1.  6. ]
    """
    fn = "rlax_core.batched.discounted_returns"
    args = _Args(fn, time_axis, "r_t", r_t)
    r = args.seq("r_t", r_t)
    v = args.seq("v_tp1", v_tp1)
    dtype = _float_dtype(r, v, discount_t)
    g = args.param("discount_t", discount_t, dtype)
    flags = _flags(
        args.T, args.B, args.flag("terminated", terminated), args.flag("truncated", truncated)
    )
    r, v = r.astype(dtype), v.astype(dtype)
    out = _lambda_core(r, v, g, jnp.ones((), dtype), flags, method, unroll, fn)
    return args.from_time_major(_maybe_stop(out, stop_target_gradients))


def lambda_returns(
    r_t: ArrayLike,
    v_tp1: ArrayLike,
    discount_t: ArrayLike,
    lambda_: ArrayLike = 1.0,
    *,
    terminated: ArrayLike | None = None,
    truncated: ArrayLike | None = None,
    time_axis: int = 0,
    stop_target_gradients: bool = True,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Episode-aware lambda-returns of a batch of rollouts.

    ``G_t = r_t + g_t (1 - terminated_t) * X_t`` with ``X_t = v_tp1_t`` where the episode or
    the window ends (``truncated_t`` or ``t = T-1``) and
    ``X_t = (1 - l_t) v_tp1_t + l_t G_{t+1}`` otherwise.

    Args:
      r_t: ``[T, B]`` rewards (``[B, T]`` with ``time_axis=1``).
      v_tp1: ``[T, B]`` values of the next observations (final observation if truncated).
      discount_t: ``[]`` or ``[T, B]`` discount ``gamma``.
      lambda_: ``[]`` or ``[T, B]`` lambda in ``[0, 1]`` (default 1: Monte Carlo returns
        bootstrapped at episode cuts).
      terminated: ``[T, B]`` bool terminal flags, or None.
      truncated: ``[T, B]`` bool truncation flags, or None.
      time_axis: axis of time in every ``[T, B]`` argument.
      stop_target_gradients: stop gradients through the returns (default True).
      method: recurrence solver (``"auto" | "sequential" | "associative"``).
      unroll: ``jax.lax.scan`` unroll of the sequential solver.

    Returns:
      ``[T, B]`` lambda-returns, in the caller's layout.

    Raises:
      ValueError: on shape, rank or ``time_axis`` errors.
      TypeError: on non-float inputs or non-bool flags.

    Examples:
      >>> r = jnp.ones((3, 1))
      >>> print(lambda_returns(r, jnp.full((3, 1), 2.0), 0.5, 0.5,
      ...       truncated=jnp.array([[False], [True], [False]])).ravel())
      [2. 2. 2.]
    """
    fn = "rlax_core.batched.lambda_returns"
    args = _Args(fn, time_axis, "r_t", r_t)
    r = args.seq("r_t", r_t)
    v = args.seq("v_tp1", v_tp1)
    dtype = _float_dtype(r, v, discount_t, lambda_)
    g = args.param("discount_t", discount_t, dtype)
    lam = args.param("lambda_", lambda_, dtype)
    flags = _flags(
        args.T, args.B, args.flag("terminated", terminated), args.flag("truncated", truncated)
    )
    r, v = r.astype(dtype), v.astype(dtype)
    out = _lambda_core(r, v, g, lam, flags, method, unroll, fn)
    return args.from_time_major(_maybe_stop(out, stop_target_gradients))


def n_step_returns(
    r_t: ArrayLike,
    v_tp1: ArrayLike,
    discount_t: ArrayLike,
    n: int,
    lambda_: ArrayLike = 1.0,
    *,
    terminated: ArrayLike | None = None,
    truncated: ArrayLike | None = None,
    time_axis: int = 0,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """Episode-aware n-step (optionally lambda-mixed) returns of a batch of rollouts.

    The lambda-return of ``lambda_returns``, with the window of each step ``t`` cut after
    ``n`` transitions: the ``n``-th transition (``t + n - 1``) bootstraps fully from its
    ``v_tp1``. Episode ends and the end of the rollout cut the window earlier.

    Args:
      r_t: ``[T, B]`` rewards (``[B, T]`` with ``time_axis=1``).
      v_tp1: ``[T, B]`` values of the next observations (final observation if truncated).
      discount_t: ``[]`` or ``[T, B]`` discount ``gamma``.
      n: static number of steps, ``n >= 1`` (1 gives one-step targets).
      lambda_: ``[]`` or ``[T, B]`` lambda mixing inside the window (1: plain n-step).
      terminated: ``[T, B]`` bool terminal flags, or None.
      truncated: ``[T, B]`` bool truncation flags, or None.
      time_axis: axis of time in every ``[T, B]`` argument.
      stop_target_gradients: stop gradients through the returns (default True).

    Returns:
      ``[T, B]`` n-step returns, in the caller's layout.

    Raises:
      ValueError: on shape, rank or ``time_axis`` errors, or ``n < 1``.
      TypeError: on non-float inputs or non-bool flags.

    Examples:
      >>> print(n_step_returns(jnp.ones((4, 1)), jnp.full((4, 1), 8.0), 0.5, n=2).ravel())
      [3.5 3.5 3.5 5. ]
    """
    fn = "rlax_core.batched.n_step_returns"
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{fn}: `n` must be a static int >= 1, got {n!r}.")
    n = int(n)
    args = _Args(fn, time_axis, "r_t", r_t)
    r = args.seq("r_t", r_t)
    v = args.seq("v_tp1", v_tp1)
    dtype = _float_dtype(r, v, discount_t, lambda_)
    g = args.param("discount_t", discount_t, dtype)
    lam = args.param("lambda_", lambda_, dtype)
    flags = _flags(
        args.T, args.B, args.flag("terminated", terminated), args.flag("truncated", truncated)
    )
    term = flags["term"]
    r, v = r.astype(dtype), _unread_on(term, v.astype(dtype))
    zero = jnp.zeros((), dtype)
    gd = jnp.where(term, zero, jnp.broadcast_to(g, (args.T, args.B)))
    lam_eff = jnp.where(_cont(flags), jnp.broadcast_to(lam, (args.T, args.B)), zero)
    # Steps past the end of the rollout are never reached (the last step has lam_eff = 0);
    # padding with zeros keeps every shifted view [T, B].
    pad = n - 1
    T, B = args.T, args.B

    def shifted(x: jax.Array, i: int) -> jax.Array:
        return jnp.concatenate([x, jnp.zeros((pad, B), dtype)])[i : i + T]

    targets = shifted(v, pad)
    for i in reversed(range(n)):
        l_i = shifted(lam_eff, i) if i < n - 1 else jnp.zeros((T, B), dtype)
        targets = shifted(r, i) + shifted(gd, i) * ((1.0 - l_i) * shifted(v, i) + l_i * targets)
    return args.from_time_major(_maybe_stop(targets, stop_target_gradients))


# ----------------------------------------------------------------------------------------------
# Advantages and TD errors.


def gae(
    r_t: ArrayLike,
    v_t: ArrayLike,
    v_tp1: ArrayLike,
    discount_t: ArrayLike,
    lambda_: ArrayLike,
    *,
    terminated: ArrayLike | None = None,
    truncated: ArrayLike | None = None,
    time_axis: int = 0,
    stop_target_gradients: bool = True,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Episode-aware generalised advantage estimates (GAE) of a batch of rollouts.

    ``delta_t = r_t + g_t (1 - terminated_t) v_tp1_t - v_t`` and
    ``A_t = delta_t + g_t l_t (1 - done_t) A_{t+1}``, ``A_{T-1} = delta_{T-1}``.

    The value targets ("returns") for the critic are ``A + v_t``. When ``v_t`` carries
    gradients, build them as ``jax.lax.stop_gradient(A + v_t)``; they equal
    ``lambda_returns(r_t, v_tp1, ...)`` when ``v_tp1[t] == v_t[t + 1]`` inside episodes.

    Args:
      r_t: ``[T, B]`` rewards (``[B, T]`` with ``time_axis=1``).
      v_t: ``[T, B]`` values of the observations the transitions start from.
      v_tp1: ``[T, B]`` values of the next observations (final observation if truncated).
      discount_t: ``[]`` or ``[T, B]`` discount ``gamma``.
      lambda_: ``[]`` or ``[T, B]`` GAE lambda.
      terminated: ``[T, B]`` bool terminal flags, or None.
      truncated: ``[T, B]`` bool truncation flags, or None.
      time_axis: axis of time in every ``[T, B]`` argument.
      stop_target_gradients: stop gradients through the advantages (default True).
      method: recurrence solver (``"auto" | "sequential" | "associative"``).
      unroll: ``jax.lax.scan`` unroll of the sequential solver.

    Returns:
      ``[T, B]`` advantages, in the caller's layout.

    Raises:
      ValueError: on shape, rank or ``time_axis`` errors.
      TypeError: on non-float inputs or non-bool flags.

    Examples:
      >>> adv = gae(jnp.ones((2, 1)), jnp.zeros((2, 1)), jnp.full((2, 1), 2.0), 0.5, 1.0,
      ...           truncated=jnp.array([[True], [False]]))
      >>> print(adv.ravel())
      [2. 2.]
    """
    fn = "rlax_core.batched.gae"
    args = _Args(fn, time_axis, "r_t", r_t)
    r = args.seq("r_t", r_t)
    v = args.seq("v_t", v_t)
    v_next = args.seq("v_tp1", v_tp1)
    dtype = _float_dtype(r, v, v_next, discount_t, lambda_)
    g = args.param("discount_t", discount_t, dtype)
    lam = args.param("lambda_", lambda_, dtype)
    flags = _flags(
        args.T, args.B, args.flag("terminated", terminated), args.flag("truncated", truncated)
    )
    r, v, v_next = r.astype(dtype), v.astype(dtype), v_next.astype(dtype)

    def coefficients(x):
        zero = jnp.zeros((), dtype)
        delta = x["r"] + jnp.where(x["term"], zero, x["g"] * x["v_next"]) - x["v"]
        return jnp.where(_cont(x), x["g"] * x["lam"], zero), delta

    inputs = dict(r=r, v=v, v_next=v_next, g=g, lam=lam, **flags)
    out = _solve(coefficients, inputs, dtype, method, unroll, fn)
    return args.from_time_major(_maybe_stop(out, stop_target_gradients))


def td_lambda_errors(
    r_t: ArrayLike,
    v_t: ArrayLike,
    v_tp1: ArrayLike,
    discount_t: ArrayLike,
    lambda_: ArrayLike,
    *,
    terminated: ArrayLike | None = None,
    truncated: ArrayLike | None = None,
    time_axis: int = 0,
    stop_target_gradients: bool = True,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Episode-aware TD(lambda) errors: ``lambda_returns(...) - v_t``.

    With the default ``stop_target_gradients=True`` gradients flow only through ``- v_t``,
    so ``0.5 * errors ** 2`` is a value loss.

    Args:
      r_t: ``[T, B]`` rewards (``[B, T]`` with ``time_axis=1``).
      v_t: ``[T, B]`` values of the observations the transitions start from.
      v_tp1: ``[T, B]`` values of the next observations (final observation if truncated).
      discount_t: ``[]`` or ``[T, B]`` discount ``gamma``.
      lambda_: ``[]`` or ``[T, B]`` lambda.
      terminated: ``[T, B]`` bool terminal flags, or None.
      truncated: ``[T, B]`` bool truncation flags, or None.
      time_axis: axis of time in every ``[T, B]`` argument.
      stop_target_gradients: stop gradients through the lambda-returns (default True).
      method: recurrence solver (``"auto" | "sequential" | "associative"``).
      unroll: ``jax.lax.scan`` unroll of the sequential solver.

    Returns:
      ``[T, B]`` TD(lambda) errors, in the caller's layout.

    Raises:
      ValueError: on shape, rank or ``time_axis`` errors.
      TypeError: on non-float inputs or non-bool flags.

    Examples:
      >>> print(td_lambda_errors(jnp.ones((2, 1)), jnp.ones((2, 1)), jnp.full((2, 1), 2.0),
      ...       0.5, 0.5).ravel())
      [1. 1.]
    """
    fn = "rlax_core.batched.td_lambda_errors"
    args = _Args(fn, time_axis, "r_t", r_t)
    r = args.seq("r_t", r_t)
    v = args.seq("v_t", v_t)
    v_next = args.seq("v_tp1", v_tp1)
    dtype = _float_dtype(r, v, v_next, discount_t, lambda_)
    g = args.param("discount_t", discount_t, dtype)
    lam = args.param("lambda_", lambda_, dtype)
    flags = _flags(
        args.T, args.B, args.flag("terminated", terminated), args.flag("truncated", truncated)
    )
    r, v, v_next = r.astype(dtype), v.astype(dtype), v_next.astype(dtype)
    returns = _lambda_core(r, v_next, g, lam, flags, method, unroll, fn)
    return args.from_time_major(_maybe_stop(returns, stop_target_gradients) - v)


# ----------------------------------------------------------------------------------------------
# Q(lambda).


def peng_q_lambda_returns(
    r_t: ArrayLike,
    q_tp1: ArrayLike,
    discount_t: ArrayLike,
    lambda_: ArrayLike,
    *,
    terminated: ArrayLike | None = None,
    truncated: ArrayLike | None = None,
    time_axis: int = 0,
    stop_target_gradients: bool = True,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Episode-aware Peng's Q(lambda) returns (the PQN target) of a batch of rollouts.

    ``lambda_returns`` with ``v_tp1 = max_a q_tp1``:
    ``G_t = r_t + g_t (1 - terminated_t) ((1 - l_t) max_a q_tp1_t + l_t G_{t+1})``, cut to
    ``max_a q_tp1_t`` on truncated steps and at ``t = T-1``. The Q(lambda) error of the action
    taken is ``G_t - q_t[a_t]``.

    Args:
      r_t: ``[T, B]`` rewards (``[B, T]`` with ``time_axis=1``).
      q_tp1: ``[T, B, A]`` Q-values of the next observations (final observation if
        truncated); ``[B, T, A]`` with ``time_axis=1``.
      discount_t: ``[]`` or ``[T, B]`` discount ``gamma``.
      lambda_: ``[]`` or ``[T, B]`` lambda.
      terminated: ``[T, B]`` bool terminal flags, or None.
      truncated: ``[T, B]`` bool truncation flags, or None.
      time_axis: axis of time in every ``[T, B]`` (and ``[T, B, A]``) argument.
      stop_target_gradients: stop gradients through the returns (default True).
      method: recurrence solver (``"auto" | "sequential" | "associative"``).
      unroll: ``jax.lax.scan`` unroll of the sequential solver.

    Returns:
      ``[T, B]`` Q(lambda) returns, in the caller's layout.

    Raises:
      ValueError: on shape, rank or ``time_axis`` errors.
      TypeError: on non-float inputs or non-bool flags.

    References:
      Peng & Williams (1996), Incremental Multi-Step Q-Learning, Machine Learning 22.
      Gallici et al. (2024), Simplifying Deep Temporal Difference Learning.
      https://arxiv.org/abs/2407.04811

    Examples:
      >>> q_tp1 = jnp.array([[[1.0, 3.0]], [[2.0, 0.0]]])  # [T=2, B=1, A=2]
      >>> print(peng_q_lambda_returns(jnp.ones((2, 1)), q_tp1, 0.5, 0.5).ravel())
      [2.25 2.  ]
    """
    fn = "rlax_core.batched.peng_q_lambda_returns"
    args = _Args(fn, time_axis, "r_t", r_t)
    r = args.seq("r_t", r_t)
    q = args.seq_actions("q_tp1", q_tp1)
    dtype = _float_dtype(r, q, discount_t, lambda_)
    g = args.param("discount_t", discount_t, dtype)
    lam = args.param("lambda_", lambda_, dtype)
    flags = _flags(
        args.T, args.B, args.flag("terminated", terminated), args.flag("truncated", truncated)
    )
    r, q = r.astype(dtype), q.astype(dtype)
    out = _lambda_core(r, jnp.max(q, axis=-1), g, lam, flags, method, unroll, fn)
    return args.from_time_major(_maybe_stop(out, stop_target_gradients))


def watkins_q_lambda_returns(
    r_t: ArrayLike,
    q_tp1: ArrayLike,
    a_tp1: ArrayLike,
    discount_t: ArrayLike,
    lambda_: ArrayLike,
    *,
    terminated: ArrayLike | None = None,
    truncated: ArrayLike | None = None,
    time_axis: int = 0,
    stop_target_gradients: bool = True,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Episode-aware Watkins' Q(lambda) returns of a batch of rollouts.

    As ``peng_q_lambda_returns``, but the trace is cut (``lambda = 0`` at step ``t``) where
    the action taken at the next observation, ``a_tp1[t]``, is not greedy:
    ``q_tp1[t, a_tp1[t]] < max_a q_tp1[t]``. Ties count as greedy. ``a_tp1`` is never read
    on steps that end an episode or the window.

    Args:
      r_t: ``[T, B]`` rewards (``[B, T]`` with ``time_axis=1``).
      q_tp1: ``[T, B, A]`` Q-values of the next observations (final observation if
        truncated).
      a_tp1: ``[T, B]`` int actions taken at the next observations (``a_t[t + 1]`` inside an
        episode).
      discount_t: ``[]`` or ``[T, B]`` discount ``gamma``.
      lambda_: ``[]`` or ``[T, B]`` lambda.
      terminated: ``[T, B]`` bool terminal flags, or None.
      truncated: ``[T, B]`` bool truncation flags, or None.
      time_axis: axis of time in every ``[T, B]`` (and ``[T, B, A]``) argument.
      stop_target_gradients: stop gradients through the returns (default True).
      method: recurrence solver (``"auto" | "sequential" | "associative"``).
      unroll: ``jax.lax.scan`` unroll of the sequential solver.

    Returns:
      ``[T, B]`` Q(lambda) returns, in the caller's layout.

    Raises:
      ValueError: on shape, rank or ``time_axis`` errors.
      TypeError: on non-float Q-values/rewards, non-int actions or non-bool flags.

    References:
      Watkins (1989), Learning from Delayed Rewards, PhD thesis, King's College Cambridge.

    Examples:
      >>> q_tp1 = jnp.array([[[1.0, 3.0]], [[2.0, 0.0]]])  # [T=2, B=1, A=2]
      >>> a_tp1 = jnp.array([[0], [0]])  # action 0 at step 1 is not greedy for q_tp1[0]
      >>> print(watkins_q_lambda_returns(jnp.ones((2, 1)), q_tp1, a_tp1, 0.5, 0.5).ravel())
      [2.5 2. ]
    """
    fn = "rlax_core.batched.watkins_q_lambda_returns"
    args = _Args(fn, time_axis, "r_t", r_t)
    r = args.seq("r_t", r_t)
    q = args.seq_actions("q_tp1", q_tp1)
    a = args.int_seq("a_tp1", a_tp1)
    dtype = _float_dtype(r, q, discount_t, lambda_)
    g = args.param("discount_t", discount_t, dtype)
    lam = args.param("lambda_", lambda_, dtype)
    flags = _flags(
        args.T, args.B, args.flag("terminated", terminated), args.flag("truncated", truncated)
    )
    r, q = r.astype(dtype), q.astype(dtype)
    v_next = jnp.max(q, axis=-1)
    # Actions after an episode or window end only feed a trace that is cut there; clipping
    # keeps padding (e.g. -1 or A) from reading outside the action axis.
    a = jnp.clip(a, 0, q.shape[-1] - 1)
    q_a = jnp.take_along_axis(q, a[..., None], axis=-1)[..., 0]
    lam = jnp.where(q_a >= v_next, lam, jnp.zeros((), dtype))
    out = _lambda_core(r, v_next, g, lam, flags, method, unroll, fn)
    return args.from_time_major(_maybe_stop(out, stop_target_gradients))


# ----------------------------------------------------------------------------------------------
# Off-policy corrections.


def vtrace(
    v_t: ArrayLike,
    v_tp1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    rho_tm1: ArrayLike,
    *,
    terminated: ArrayLike | None = None,
    truncated: ArrayLike | None = None,
    lambda_: ArrayLike = 1.0,
    clip_rho_threshold: float = 1.0,
    clip_pg_rho_threshold: float = 1.0,
    time_axis: int = 0,
    stop_target_gradients: bool = True,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> VTraceOutput:
    """Episode-aware V-trace errors, policy-gradient advantages and Q estimates.

    With ``rho_bar_t = min(clip_rho_threshold, rho_t)``, ``c_t = l_t min(1, rho_t)`` and
    ``delta_t = r_t + g_t (1 - terminated_t) v_tp1_t - v_t``:
    ``err_t = rho_bar_t delta_t + g_t c_t (1 - done_t) err_{t+1}``, ``err_{T-1} =
    rho_bar_{T-1} delta_{T-1}``, and the V-trace target is ``vs_t = v_t + err_t``.
    ``q_estimate_t = r_t + g_t (1 - terminated_t) * (v_tp1_t if done_t or t = T-1 else
    l_t vs_{t+1} + (1 - l_t) v_tp1_t)`` and
    ``pg_advantage_t = min(clip_pg_rho_threshold, rho_t) (q_estimate_t - v_t)``.

    With ``stop_target_gradients=True`` (default) ``vs`` and ``q_estimate`` are
    gradient-stopped (``errors`` still carries the gradient of ``- v_t``), and
    ``pg_advantage`` is stopped entirely: it is a weight for the policy gradient.

    Args:
      v_t: ``[T, B]`` values of the observations the transitions start from
        (``[B, T]`` with ``time_axis=1``).
      v_tp1: ``[T, B]`` values of the next observations (final observation if truncated).
      r_t: ``[T, B]`` rewards.
      discount_t: ``[]`` or ``[T, B]`` discount ``gamma``.
      rho_tm1: ``[T, B]`` importance ratios ``pi(a_t|obs_t) / mu(a_t|obs_t)`` of the
        actions taken.
      terminated: ``[T, B]`` bool terminal flags, or None.
      truncated: ``[T, B]`` bool truncation flags, or None.
      lambda_: ``[]`` or ``[T, B]`` trace mixing.
      clip_rho_threshold: clip of the TD-error weights ``rho_bar``.
      clip_pg_rho_threshold: clip of the policy-gradient weights.
      time_axis: axis of time in every ``[T, B]`` argument.
      stop_target_gradients: stop gradients through the targets (default True).
      method: recurrence solver (``"auto" | "sequential" | "associative"``).
      unroll: ``jax.lax.scan`` unroll of the sequential solver.

    Returns:
      ``VTraceOutput(errors, pg_advantage, q_estimate)``, each ``[T, B]`` in the caller's
      layout.

    Raises:
      ValueError: on shape, rank or ``time_axis`` errors.
      TypeError: on non-float inputs or non-bool flags.

    References:
      Espeholt et al. (2018), IMPALA, ICML. https://arxiv.org/abs/1802.01561

    Examples:
      >>> out = vtrace(jnp.zeros((2, 1)), jnp.zeros((2, 1)), jnp.ones((2, 1)), 0.5,
      ...              jnp.full((2, 1), 2.0))
      >>> print(out.errors.ravel(), out.q_estimate.ravel())
      [1.5 1. ] [1.5 1. ]
    """
    fn = "rlax_core.batched.vtrace"
    args = _Args(fn, time_axis, "v_t", v_t)
    v = args.seq("v_t", v_t)
    v_next = args.seq("v_tp1", v_tp1)
    r = args.seq("r_t", r_t)
    rho = args.seq("rho_tm1", rho_tm1)
    dtype = _float_dtype(v, v_next, r, rho, discount_t, lambda_)
    g = args.param("discount_t", discount_t, dtype)
    lam = args.param("lambda_", lambda_, dtype)
    flags = _flags(
        args.T, args.B, args.flag("terminated", terminated), args.flag("truncated", truncated)
    )
    v, v_next, r, rho = (x.astype(dtype) for x in (v, v_next, r, rho))
    zero = jnp.zeros((), dtype)

    def coefficients(x):
        # err_t = rho_bar_t delta_t + g_t c_t err_{t+1}, cut at episode and window ends.
        trace = x["lam"] * jnp.minimum(jnp.ones((), dtype), x["rho"])
        delta = x["r"] + jnp.where(x["term"], zero, x["g"] * x["v_next"]) - x["v"]
        rho_bar = jnp.minimum(x["clip"], x["rho"])
        return jnp.where(_cont(x), x["g"] * trace, zero), rho_bar * delta

    inputs = dict(r=r, v=v, v_next=v_next, rho=rho, g=g, lam=lam, **flags)
    inputs["clip"] = jnp.asarray(clip_rho_threshold, dtype)
    err = _solve(coefficients, inputs, dtype, method, unroll, fn)
    vs = _maybe_stop(err + v, stop_target_gradients)
    errors = vs - v
    vs_next = jnp.concatenate([vs[1:], jnp.zeros((1, args.B), dtype)])
    q_boot = jnp.where(_cont(flags), lam * vs_next + (1.0 - lam) * v_next, v_next)
    q_estimate = _maybe_stop(r + jnp.where(flags["term"], zero, g * q_boot), stop_target_gradients)
    pg_rho = jnp.minimum(jnp.asarray(clip_pg_rho_threshold, dtype), rho)
    pg_advantage = _maybe_stop(pg_rho * (q_estimate - v), stop_target_gradients)
    return VTraceOutput(
        errors=args.from_time_major(errors),
        pg_advantage=args.from_time_major(pg_advantage),
        q_estimate=args.from_time_major(q_estimate),
    )


def retrace(
    q_t: ArrayLike,
    q_tp1: ArrayLike,
    a_t: ArrayLike,
    a_tp1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    pi_tp1: ArrayLike,
    mu_tp1: ArrayLike,
    lambda_: ArrayLike,
    *,
    terminated: ArrayLike | None = None,
    truncated: ArrayLike | None = None,
    eps: float = 1e-8,
    time_axis: int = 0,
    stop_target_gradients: bool = True,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Episode-aware Retrace errors (discrete actions) of a batch of rollouts.

    With ``E_t = sum_a pi_tp1[t, a] q_tp1[t, a]`` and traces
    ``c_t = l_t min(1, pi_tp1[t, a_tp1[t]] / (mu_tp1[t] + eps))``, the target is
    ``G_t = r_t + g_t (1 - terminated_t) * (E_t if done_t or t = T-1 else
    E_t + c_t (G_{t+1} - q_tp1[t, a_tp1[t]]))`` and the error is ``G_t - q_t[t, a_t[t]]``.

    Args:
      q_t: ``[T, B, A]`` Q-values of the observations the transitions start from
        (``[B, T, A]`` with ``time_axis=1``).
      q_tp1: ``[T, B, A]`` Q-values of the next observations (final observation if
        truncated).
      a_t: ``[T, B]`` int actions taken.
      a_tp1: ``[T, B]`` int actions taken at the next observations (not read where an
        episode or the window ends).
      r_t: ``[T, B]`` rewards.
      discount_t: ``[]`` or ``[T, B]`` discount ``gamma``.
      pi_tp1: ``[T, B, A]`` target-policy probabilities at the next observations.
      mu_tp1: ``[T, B]`` behaviour-policy probabilities of ``a_tp1`` (not read where an
        episode or the window ends).
      lambda_: ``[]`` or ``[T, B]`` trace decay.
      terminated: ``[T, B]`` bool terminal flags, or None.
      truncated: ``[T, B]`` bool truncation flags, or None.
      eps: added to ``mu_tp1`` in the importance ratio.
      time_axis: axis of time in every ``[T, B]`` (and ``[T, B, A]``) argument.
      stop_target_gradients: stop gradients through the targets (default True).
      method: recurrence solver (``"auto" | "sequential" | "associative"``).
      unroll: ``jax.lax.scan`` unroll of the sequential solver.

    Returns:
      ``[T, B]`` Retrace errors, in the caller's layout.

    Raises:
      ValueError: on shape, rank or ``time_axis`` errors.
      TypeError: on wrong dtypes (actions int, flags bool, the rest float).

    References:
      Munos et al. (2016), Safe and Efficient Off-Policy Reinforcement Learning, NeurIPS.
      https://arxiv.org/abs/1606.02647

    Examples:
      >>> q = jnp.ones((2, 1, 2))
      >>> a = jnp.zeros((2, 1), jnp.int32)
      >>> print(retrace(jnp.zeros((2, 1, 2)), q, a, a, jnp.ones((2, 1)), 0.5,
      ...               jnp.full((2, 1, 2), 0.5), jnp.full((2, 1), 0.5), 1.0).ravel())
      [1.75 1.5 ]
    """
    fn = "rlax_core.batched.retrace"
    args = _Args(fn, time_axis, "r_t", r_t)
    r = args.seq("r_t", r_t)
    q = args.seq_actions("q_t", q_t)
    num_actions = _shape(q_t)[2]
    q_next = args.seq_actions("q_tp1", q_tp1, num_actions)
    pi = args.seq_actions("pi_tp1", pi_tp1, num_actions)
    a = args.int_seq("a_t", a_t)
    a_next = args.int_seq("a_tp1", a_tp1)
    mu = args.seq("mu_tp1", mu_tp1)
    dtype = _float_dtype(r, q, q_next, pi, mu, discount_t, lambda_)
    g = args.param("discount_t", discount_t, dtype)
    lam = args.param("lambda_", lambda_, dtype)
    flags = _flags(
        args.T, args.B, args.flag("terminated", terminated), args.flag("truncated", truncated)
    )
    r, q, q_next, pi, mu = (x.astype(dtype) for x in (r, q, q_next, pi, mu))
    q_next, pi = _unread_on(flags["term"], q_next), _unread_on(flags["term"], pi)

    def pick(x: jax.Array, idx: jax.Array) -> jax.Array:
        return jnp.take_along_axis(x, idx[..., None], axis=-1)[..., 0]

    zero = jnp.zeros((), dtype)
    # The next action and its behaviour probability only feed a trace that is cut after an
    # episode or window end; there they may be padding, which must not produce NaNs.
    a_next = jnp.clip(a_next, 0, q.shape[-1] - 1)

    def coefficients(x):
        cont = _cont(x)
        ratio = x["pi_a"] / (jnp.where(cont, x["mu"], jnp.ones((), dtype)) + eps)
        trace = jnp.where(cont, x["lam"] * jnp.minimum(jnp.ones((), dtype), ratio), zero)
        boot = jnp.where(x["term"], zero, x["g"] * (x["expected"] - trace * x["q_a"]))
        return x["g"] * trace, x["r"] + boot

    inputs = dict(
        r=r,
        expected=jnp.sum(pi * q_next, axis=-1),
        q_a=pick(q_next, a_next),
        pi_a=pick(pi, a_next),
        mu=mu,
        g=g,
        lam=lam,
        **flags,
    )
    returns = _solve(coefficients, inputs, dtype, method, unroll, fn)
    returns = _maybe_stop(returns, stop_target_gradients)
    return args.from_time_major(returns - pick(q, a))
