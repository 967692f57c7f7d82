"""JAX transforms that thread Haiku params/state/RNG through (``hk.vmap``, ``hk.scan`` ...).

Each wrapper turns the user function into a pure function of
``(state, rng_state, *args)`` that returns ``(out, state, rng_state, new_params,
new_initial_state)``, runs the JAX transform on it, and writes the outputs back into
the current frame. Parameter *reads* are closures (JAX lifts them), so only values
created or changed inside the transform cross its boundary -- as outputs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, cast

import jax
import jax.numpy as jnp

from haiku_core._src import base
from haiku_core._src.base import Frame, PRNGSequence

__all__ = [
    "cond",
    "eval_shape",
    "fori_loop",
    "grad",
    "map",
    "remat",
    "scan",
    "switch",
    "value_and_grad",
    "vmap",
    "while_loop",
]


def _copy2(d: Any) -> Any:
    return None if d is None else {k: dict(v) for k, v in d.items()}


def _diff_new(before: Any, after: Any) -> dict:
    """Entries of ``after`` that were not in ``before`` (two-level dicts)."""
    out: dict = {}
    if after is None:
        return out
    for m, bundle in after.items():
        old = before.get(m, {}) if before is not None else {}
        for n, v in bundle.items():
            if n not in old:
                out.setdefault(m, {})[n] = v
    return out


def _merge_into(target: Any, new: dict) -> None:
    if target is None:
        return
    for m, bundle in new.items():
        target.setdefault(m, {}).update(bundle)


def _rng_state(frame: Frame) -> Any:
    return None if frame.rng is None else frame.rng.internal_state


def _pure(fun: Callable, frame: Frame, key_only: bool = False) -> Callable:
    """Makes ``fun`` a pure function of ``(state, rng_state, args, kwargs)``."""

    def g(state, rng_state, args, kwargs):
        saved = (frame.params, frame.state, frame.initial_state, frame.rng, frame.eager)
        params_before = frame.params
        frame.state = _copy2(state)
        if rng_state is None:
            frame.rng = None
        elif key_only:
            frame.rng = PRNGSequence((rng_state, ()))
        else:
            frame.rng = PRNGSequence(rng_state)
        if frame.is_init:
            frame.params = _copy2(params_before)
            frame.initial_state = _copy2(saved[2])
        frame.eager = False  # tracers are expected in here
        try:
            out = fun(*args, **kwargs)
            new_params = _diff_new(params_before, frame.params) if frame.is_init else {}
            new_initial = _diff_new(saved[2], frame.initial_state) if frame.is_init else {}
            new_state = frame.state
            if frame.rng is None:
                new_rng = None
            elif key_only:
                new_rng = frame.rng._key
            else:
                new_rng = frame.rng.internal_state
        finally:
            (frame.params, frame.state, frame.initial_state, frame.rng, frame.eager) = saved
        return out, new_state, new_rng, new_params, new_initial

    return g


def _in_order(reference: dict, new: Any) -> dict:
    """``new`` (whose dicts a JAX transform returned key-sorted) in ``reference``'s order."""
    out: dict = {}
    for m, bundle in reference.items():
        if m in new:
            nb = new[m]
            out[m] = {n: nb[n] for n in bundle if n in nb}
            out[m].update({n: v for n, v in nb.items() if n not in out[m]})
    for m, nb in new.items():
        if m not in out:
            out[m] = dict(nb)
    return out


def _as_array(v: Any) -> Any:
    """``v`` as a ``jax.Array`` where a JAX transform returned it as a Python scalar.

    Constant scalar outputs of ``jax.checkpoint`` (and similar) come back as typed
    Python literals; params and state are always arrays.
    """
    if isinstance(v, (int, float, complex)) and hasattr(v, "dtype"):
        return jnp.asarray(v, dtype=cast(Any, v).dtype)
    return v


def _arrays(d: Any) -> Any:
    if not d:
        return d
    return {m: {n: _as_array(v) for n, v in b.items()} for m, b in d.items()}


def _write_back(frame: Frame, state, rng_state, new_params, new_initial, key_only=False):
    state, new_params, new_initial = _arrays(state), _arrays(new_params), _arrays(new_initial)
    if frame.state is not None and state is not None:
        ordered = _in_order(frame.state, state)
        frame.state.clear()
        frame.state.update(ordered)
    if rng_state is not None and frame.rng is not None:
        if key_only:
            frame.rng.replace_internal_state((rng_state, ()))
        else:
            frame.rng.replace_internal_state(rng_state)
    if frame.is_init:
        _merge_into(frame.params, new_params)
        _merge_into(frame.initial_state, new_initial)


# ----------------------------------------------------------------------------- vmap


def _axis_size(in_axes: Any, args: tuple, kwargs: dict, what: str) -> int:
    sizes: list[int] = []

    def visit(ax, sub):
        if ax is None:
            return
        for leaf in jax.tree.leaves(sub):
            sizes.append(jnp.shape(leaf)[ax])

    if isinstance(in_axes, (list, tuple)):
        if len(in_axes) != len(args):
            raise ValueError(
                f"{what}: `in_axes` has {len(in_axes)} entries but the function got "
                f"{len(args)} positional arguments."
            )
        for ax, a in zip(in_axes, args, strict=True):
            if isinstance(ax, int) or ax is None:
                visit(ax, a)
            else:
                jax.tree.map(visit, ax, a, is_leaf=lambda x: x is None)
    else:
        visit(in_axes, args)
    for v in kwargs.values():
        visit(0, v)
    if not sizes:
        raise ValueError(f"{what}: cannot infer the mapped axis size; pass `axis_size=`.")
    return int(sizes[0])


_SPLIT_RNG_MISSING: Any = object()


def vmap(
    fun: Callable[..., Any],
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: str | None = None,
    axis_size: int | None = None,
    *,
    split_rng: bool = _SPLIT_RNG_MISSING,  # type: ignore[assignment]
    spmd_axis_name: Any | None = None,
) -> Callable[..., Any]:
    """``jax.vmap`` for functions that use modules: params and state are not mapped.

    Args:
      fun: the function to map.
      in_axes: as in ``jax.vmap``.
      out_axes: as in ``jax.vmap``.
      axis_name: as in ``jax.vmap``.
      axis_size: as in ``jax.vmap``.
      split_rng: required (unless ``hk.vmap.require_split_rng`` has been set to
        False, in which case leaving it out means False). If True each mapped element
        draws from its own key sequence (``next_rng_keys(axis_size)``); if False all
        elements see the same keys. Must be False under ``init`` (parameters are
        shared).
      spmd_axis_name: as in ``jax.vmap``.

    Returns:
      The mapped function.

    Raises:
      TypeError: if ``split_rng`` is left out while ``hk.vmap.require_split_rng``
        is True (the default).
      ValueError: if every ``in_axes`` entry is None; under init with
        ``split_rng=True`` when ``fun`` creates params/state from the split keys.
    """
    if split_rng is _SPLIT_RNG_MISSING:
        if getattr(vmap, "require_split_rng", True):
            raise TypeError(
                "haiku_core.vmap: the keyword argument `split_rng` is required (True: each mapped "
                "element gets its own random keys; False: all elements share them). Code "
                "that cannot be edited can be run with `hk.vmap.require_split_rng = False`, "
                "which makes a missing `split_rng` mean False."
            )
        split_rng = False

    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if all(a is None for a in jax.tree.leaves(in_axes, is_leaf=lambda a: a is None)):
        name = getattr(fun, "__name__", type(fun).__name__)
        raise ValueError(
            f"haiku_core.vmap: {name} must have at least one non-None value in in_axes (got "
            f"in_axes={in_axes!r}); nothing would be mapped."
        )

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        frame = base.frame_or_raise("haiku_core.vmap")
        g = _pure(fun, frame)
        state = _copy2(frame.state)
        if split_rng and frame.rng is not None:
            n = axis_size or _axis_size(in_axes, args, kwargs, "haiku_core.vmap")
            keys = base._draw(frame, "haiku_core.vmap", n)
            rng_state = (keys, ())
            rng_axis: Any = (0, None)
            out_rng_axis: Any = 0
        else:
            rng_state = _rng_state(frame)
            rng_axis = None
            out_rng_axis = None
        kw_axes = 0 if kwargs else None
        mapped = jax.vmap(
            g,
            in_axes=(None, rng_axis, in_axes, kw_axes),
            out_axes=(out_axes, None, out_rng_axis, None, None),
            axis_name=axis_name,
            axis_size=axis_size,
            spmd_axis_name=spmd_axis_name,
        )
        try:
            out, state, rng_out, new_params, new_initial = mapped(state, rng_state, args, kwargs)
        except ValueError as e:
            if split_rng and frame.is_init and "out_axes" in str(e):
                raise ValueError(
                    "haiku_core.vmap: parameters (or state) created under hk.vmap(split_rng=True) "
                    "during init would differ along the mapped axis, but they are shared. Do "
                    "not set split_rng to True during initialization: use "
                    "`split_rng=(not hk.running_init())`."
                ) from e
            raise
        if split_rng:
            rng_out = None
        _write_back(frame, state, rng_out, new_params, new_initial)
        return out

    return wrapper


# Set to False (``hk.vmap.require_split_rng = False``) to let callers of ``hk.vmap``
# leave out ``split_rng``, which then means ``split_rng=False``.
vmap.require_split_rng = True  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- loops


def _slice0(xs: Any, reverse: bool) -> Any:
    """The first step's slice of ``xs`` (zeros of the slice shape when ``xs`` is empty)."""

    def first(x):
        x = jnp.asarray(x)
        if x.shape[0] == 0:
            return jnp.zeros(x.shape[1:], x.dtype)
        return x[-1] if reverse else x[0]

    return jax.tree.map(first, xs)


def _run_for_params(frame: Frame, fn: Callable, *args) -> None:
    """Runs ``fn`` directly (under init) to create params, then restores state.

    State entries that ``fn`` created keep their initial values, so loop carries and
    branch outputs have the same structure on every step.
    """
    state = _copy2(frame.state)
    fn(*args)
    if frame.state is not None:
        initial = frame.initial_state or {}
        for m, bundle in frame.state.items():
            for n, v in bundle.items():
                if n not in state.get(m, {}):
                    state.setdefault(m, {})[n] = initial.get(m, {}).get(n, v)
        frame.state.clear()
        frame.state.update(state)


def scan(
    f: Callable,
    init: Any,
    xs: Any,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
) -> tuple[Any, Any]:
    """``jax.lax.scan`` for functions that use modules.

    Under init the first step runs once outside the loop to create parameters.

    Args:
      f: ``f(carry, x) -> (carry, y)``.
      init: initial carry.
      xs: pytree scanned along axis 0 (``[T, ...]``), or None with ``length``.
      length: number of steps when ``xs`` is None.
      reverse: scan from the end.
      unroll: as in ``jax.lax.scan``.

    Returns:
      ``(final_carry, stacked_ys)``.
    """
    frame = base.frame_or_raise("haiku_core.scan")
    if frame.is_init:
        x0 = _slice0(xs, reverse) if xs is not None else None
        _run_for_params(frame, f, init, x0)
    g = _pure(f, frame, key_only=True)

    def body(c, x):
        carry, state, key = c
        (carry, y), state, key, new_params, _ = g(state, key, (carry, x), {})
        if new_params:
            raise ValueError(
                "haiku_core.scan: the body created parameters "
                f"{sorted(f'{m}/{n}' for m, b in new_params.items() for n in b)} on a later "
                "step than the first; parameters must be created on every step."
            )
        return (carry, state, key), y

    key0 = None if frame.rng is None else _key_only(frame)
    (carry, state, key), ys = jax.lax.scan(
        body,
        (init, _copy2(frame.state), key0),
        xs,
        length=length,
        reverse=reverse,
        unroll=unroll,
    )
    _write_back(frame, state, key, {}, {}, key_only=True)
    return carry, ys


def _key_only(frame: Frame) -> jax.Array:
    seq = frame.rng
    assert seq is not None  # callers check frame.rng first
    seq.reserve(0)
    if seq._subkeys:
        # Fold reserved keys back into one: draw one key to carry through the loop.
        return next(seq)
    return seq._key


def map(f: Callable, xs: Any) -> Any:
    """``jax.lax.map`` for functions that use modules.

    Args:
      f: function applied to each slice of ``xs`` along axis 0.
      xs: pytree with leading axis ``[T, ...]``.

    Returns:
      Stacked outputs.
    """
    return scan(lambda _, x: ((), f(x)), (), xs)[1]


def fori_loop(lower: int, upper: int, body_fun: Callable, init_val: Any) -> Any:
    """``jax.lax.fori_loop`` for functions that use modules.

    Args:
      lower: start index.
      upper: end index (exclusive).
      body_fun: ``body_fun(i, val) -> val``.
      init_val: initial value.

    Returns:
      The final value.
    """
    frame = base.frame_or_raise("haiku_core.fori_loop")
    if frame.is_init:
        _run_for_params(frame, body_fun, lower, init_val)
    g = _pure(body_fun, frame, key_only=True)

    def body(i, c):
        val, state, key = c
        val, state, key, new_params, _ = g(state, key, (i, val), {})
        if new_params:
            raise ValueError(
                "haiku_core.fori_loop: the body created parameters after its first step."
            )
        return val, state, key

    key0 = None if frame.rng is None else _key_only(frame)
    val, state, key = jax.lax.fori_loop(lower, upper, body, (init_val, _copy2(frame.state), key0))
    _write_back(frame, state, key, {}, {}, key_only=True)
    return val


def _state_changed(before: Any, after: Any) -> bool:
    """Whether ``after`` has entries ``before`` lacks or holds a different value object."""
    if not after:
        return False
    before = before or {}
    for m, bundle in after.items():
        old = before.get(m, {})
        for n, v in bundle.items():
            if n not in old or old[n] is not v:
                return True
    return False


def _rng_changed(before: Any, after: Any) -> bool:
    """Whether a key sequence's ``(key, subkeys)`` state differs (by identity)."""
    if before is None or after is None:
        return before is not after
    (k0, sub0), (k1, sub1) = before, after
    if k0 is not k1 or len(sub0) != len(sub1):
        return True
    return any(a is not b for a, b in zip(sub0, sub1, strict=True))


def while_loop(cond_fun: Callable, body_fun: Callable, init_val: Any) -> Any:
    """``jax.lax.while_loop`` for functions that use modules (apply only).

    ``cond_fun`` may read state (the values from before the loop, not the loop's
    current ones) but may not set state or draw random keys.

    Args:
      cond_fun: ``cond_fun(val) -> bool[]``.
      body_fun: ``body_fun(val) -> val``.
      init_val: initial value.

    Returns:
      The final value.

    Raises:
      ValueError: under init (parameters cannot be created inside a while loop); if
        ``cond_fun`` sets state or draws random keys.
    """
    frame = base.frame_or_raise("haiku_core.while_loop")
    if frame.is_init:
        raise ValueError(
            "haiku_core.while_loop: cannot be used during init: parameters cannot be created inside a "
            "while loop. Create them before the loop (e.g. call the modules once) or use "
            "hk.fori_loop / hk.scan."
        )
    g = _pure(body_fun, frame, key_only=True)

    def body(c):
        val, state, key = c
        val, state, key, _, _ = g(state, key, (val,), {})
        return val, state, key

    pure_cond = _pure(cond_fun, frame)
    # cond_fun reads the state as it was before the loop (as in dm-haiku): the loop's
    # state is not passed to it. It may not change state or draw keys.
    outer_state, outer_rng = _copy2(frame.state), _rng_state(frame)

    def cond(c):
        pred, new_state, new_rng, _, _ = pure_cond(outer_state, outer_rng, (c[0],), {})
        if _rng_changed(outer_rng, new_rng) or _state_changed(outer_state, new_state):
            raise ValueError(
                "haiku_core.while_loop: `cond_fun` may read state but must not change it or draw "
                "random keys (it called hk.set_state, hk.next_rng_key or similar); do that "
                "in `body_fun` instead."
            )
        return pred

    key0 = None if frame.rng is None else _key_only(frame)
    val, state, key = jax.lax.while_loop(cond, body, (init_val, _copy2(frame.state), key0))
    _write_back(frame, state, key, {}, {}, key_only=True)
    return val


# ----------------------------------------------------------------------------- branches

_no_operand = object()


def cond(
    pred: Any, true_fun: Callable, false_fun: Callable, *operands: Any, operand: Any = _no_operand
) -> Any:
    """``jax.lax.cond`` for functions that use modules.

    Each branch is traced once, by ``jax.lax.cond`` itself. Under init, params and
    state the branches create leave the conditional as outputs, so every branch must
    create the same ones (create them unconditionally before the ``cond`` otherwise).

    Args:
      pred: boolean scalar ``[]``.
      true_fun: branch taken when ``pred`` is True.
      false_fun: branch taken otherwise.
      *operands: operands passed to the branch. The old form
        ``cond(pred, true_operand, true_fun, false_operand, false_fun)`` is accepted.
      operand: deprecated single operand (as in ``jax.lax.cond``).

    Returns:
      The output of the taken branch.

    Raises:
      ValueError: outside a transform, or if operands are passed both positionally
        and as ``operand=``.
      TypeError: if the branches' outputs, or the params/state they create under
        init, differ in structure.
    """
    if not callable(true_fun) and len(operands) == 2 and operand is _no_operand:
        # The old five-argument form: cond(pred, true_operand, true_fun, false_operand,
        # false_fun).
        t_op, t_fun, f_op, f_fun = true_fun, false_fun, operands[0], operands[1]
        return cond(
            pred,
            lambda ops, fn=t_fun: fn(ops[0]),
            lambda ops, fn=f_fun: fn(ops[1]),
            (t_op, f_op),
        )
    if operand is not _no_operand:
        if operands:
            raise ValueError(
                "haiku_core.cond: cannot pass operands positionally and as `operand=` at the same "
                f"time (got operand={operand!r} and {len(operands)} positional operands); "
                "use `*operands` only."
            )
        operands = (operand,)
    frame = base.frame_or_raise("haiku_core.cond")
    return _branching(
        frame,
        "haiku_core.cond",
        lambda fns, *ops: jax.lax.cond(pred, fns[0], fns[1], *ops),
        (true_fun, false_fun),
        operands,
    )


def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """``jax.lax.switch`` for functions that use modules.

    Each distinct branch function is traced once. Under init, params and state the
    branches create leave the switch as outputs, so every branch must create the
    same ones (create them unconditionally before the ``switch`` otherwise).

    Args:
      index: int scalar ``[]``; clamped to ``[0, len(branches) - 1]``.
      branches: the branch functions.
      *operands: operands passed to the chosen branch.

    Returns:
      The output of the chosen branch.

    Raises:
      ValueError: outside a transform.
      TypeError: if the branches' outputs, or the params/state they create under
        init, differ in structure.
    """
    frame = base.frame_or_raise("haiku_core.switch")
    return _branching(
        frame,
        "haiku_core.switch",
        lambda fns, *ops: jax.lax.switch(index, fns, *ops),
        tuple(branches),
        operands,
    )


def _branching(frame: Frame, what: str, run: Callable, branches: tuple, operands: tuple) -> Any:
    """Runs ``run(pure_branches, state, key, operands)`` and writes its state back.

    Each pure branch returns ``(out, state, key, new_params, new_initial_state)``.
    The pure branches are shared between equal (same object) branch functions so
    that JAX traces each distinct function once.
    """
    key0 = None if frame.rng is None else _key_only(frame)
    pure_of: dict[int, Callable] = {}

    def make(b: Callable) -> Callable:
        if id(b) not in pure_of:
            g = _pure(b, frame, key_only=True)

            def pure_branch(state, key, ops, g=g):
                return g(state, key, ops, {})

            pure_of[id(b)] = pure_branch
        return pure_of[id(b)]

    pure_branches = [make(b) for b in branches]
    try:
        out, state, key, new_params, new_initial = run(
            pure_branches, _copy2(frame.state), key0, operands
        )
    except TypeError as e:
        if frame.is_init and "branch outputs" in str(e):
            raise TypeError(
                f"{what}: under init every branch must create the same parameters and "
                "state (and return outputs of the same structure); create the modules' "
                "parameters unconditionally (e.g. `if hk.running_init(): ...`) and use "
                f"{what} at apply. JAX reported: {e}"
            ) from e
        raise
    _write_back(frame, state, key, new_params, new_initial, key_only=True)
    return out


# ----------------------------------------------------------------------------- others


def remat(
    fun: Callable,
    *,
    prevent_cse: bool = True,
    policy: Callable[..., bool] | None = None,
    static_argnums: int | tuple[int, ...] = (),
    **kwargs: Any,
) -> Callable:
    """``jax.checkpoint`` (rematerialisation) for functions that use modules.

    Args:
      fun: the function.
      prevent_cse: as in ``jax.checkpoint``.
      policy: as in ``jax.checkpoint``.
      static_argnums: as in ``jax.checkpoint`` (positions in ``fun``'s arguments).
      **kwargs: ignored deprecated arguments (``concrete``).

    Returns:
      The wrapped function.
    """
    del kwargs
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def wrapper(*args):
        frame = base.frame_or_raise("haiku_core.remat")
        g = _pure(fun, frame)
        static_vals = {i: args[i] for i in static}
        dyn = tuple(a for i, a in enumerate(args) if i not in static_vals)

        def h(state, rng_state, dyn_args):
            it = iter(dyn_args)
            full = tuple(static_vals[i] if i in static_vals else next(it) for i in range(len(args)))
            return g(state, rng_state, full, {})

        ck = jax.checkpoint(h, prevent_cse=prevent_cse, policy=policy)
        out, state, rng, new_params, new_initial = ck(_copy2(frame.state), _rng_state(frame), dyn)
        _write_back(frame, state, rng, new_params, new_initial)
        return out

    return wrapper


def value_and_grad(
    fun: Callable,
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """``jax.value_and_grad`` for functions that use modules (w.r.t. explicit args).

    Args:
      fun: scalar-valued function.
      argnums: which positional arguments to differentiate.
      has_aux: whether ``fun`` returns ``(value, aux)``.
      holomorphic: as in ``jax.value_and_grad``.

    Returns:
      A function returning ``(value, grads)`` (or ``((value, aux), grads)``).
    """

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        frame = base.frame_or_raise("haiku_core.value_and_grad")
        g = _pure(fun, frame)
        state, rng_state = _copy2(frame.state), _rng_state(frame)
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)

        def h(*diff_args):
            full = list(args)
            for i, a in zip(nums, diff_args, strict=True):
                full[i] = a
            out, s, r, p, ini = g(state, rng_state, tuple(full), kwargs)
            if has_aux:
                value, aux = out
            else:
                value, aux = out, None
            return value, (aux, s, r, p, ini)

        vg = jax.value_and_grad(
            h, argnums=tuple(range(len(nums))), has_aux=True, holomorphic=holomorphic
        )
        (value, (aux, s, r, p, ini)), grads = vg(*(args[i] for i in nums))
        _write_back(frame, s, r, p, ini)
        if isinstance(argnums, int):
            grads = grads[0]
        return ((value, aux), grads) if has_aux else (value, grads)

    return wrapper


def grad(
    fun: Callable,
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """``jax.grad`` for functions that use modules (w.r.t. explicit args).

    Args:
      fun: scalar-valued function.
      argnums: which positional arguments to differentiate.
      has_aux: whether ``fun`` returns ``(value, aux)``.
      holomorphic: as in ``jax.grad``.

    Returns:
      A function returning the gradients (and ``aux`` if ``has_aux``).
    """
    vg = value_and_grad(fun, argnums=argnums, has_aux=has_aux, holomorphic=holomorphic)

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        out, grads = vg(*args, **kwargs)
        return (grads, out[1]) if has_aux else grads

    return wrapper


def eval_shape(fun: Callable, *args: Any, **kwargs: Any) -> Any:
    """``jax.eval_shape`` for functions that use modules; every Haiku side effect is dropped.

    ``fun`` runs abstractly against the current params/state/RNG. Params or state it
    creates (at init), state it sets and keys it draws are discarded: after the call
    the transform is exactly as before.

    Args:
      fun: the function (may be a module, or an inner transform's ``init``/``apply``).
      *args: arguments (arrays or ``jax.ShapeDtypeStruct``).
      **kwargs: keyword arguments.

    Returns:
      ``jax.ShapeDtypeStruct`` pytree of the outputs.

    Raises:
      ValueError: outside a transformed function (use ``jax.eval_shape`` there).
    """
    frame = base.frame_or_raise("haiku_core.eval_shape")
    g = _pure(fun, frame)
    # Modules made inside must not use up names: the real call after this one (e.g. in
    # hk.experimental.optimize_rng_use) has to get the same module names.
    naming = [
        (entry, _copy_or_none(entry[base.COUNTERS]), _copy_or_none(entry[base.USED]))
        for entry in frame.stack
    ]
    try:
        out, _, _, _, _ = jax.eval_shape(
            lambda s, r, a, k: g(s, r, a, k), _copy2(frame.state), _rng_state(frame), args, kwargs
        )
    finally:
        for entry, counters, used in naming:
            entry[base.COUNTERS], entry[base.USED] = counters, used
    return out


def _copy_or_none(x: Any) -> Any:
    return None if x is None else x.copy()


def jit(fun: Callable, **jit_kwargs: Any) -> Callable:
    """``jax.jit`` for a function that uses modules, inside a transformed function.

    Params/state created or changed and keys drawn inside ``fun`` are threaded
    through the compiled call and written back to the transform.

    Args:
      fun: the function.
      **jit_kwargs: passed to ``jax.jit`` (e.g. ``donate_argnums`` is not supported;
        options that name ``fun``'s arguments do not apply).

    Returns:
      The wrapped function (same arguments and outputs as ``fun``).
    """

    @functools.wraps(fun)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        frame = base.frame_or_raise("jit")
        g = _pure(fun, frame)
        compiled = jax.jit(lambda s, r, a, k: g(s, r, a, k), **jit_kwargs)
        out, state, rng, new_params, new_initial = compiled(
            _copy2(frame.state), _rng_state(frame), args, kwargs
        )
        _write_back(frame, state, rng, new_params, new_initial)
        return out

    return wrapper


from haiku_core._src.utils import set_public_module  # noqa: E402

set_public_module(globals(), __all__, "haiku_core")
