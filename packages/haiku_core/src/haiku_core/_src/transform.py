"""``hk.transform`` and friends: impure module code -> pure ``(init, apply)`` functions."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

import jax
import jax.numpy as jnp
from jax.core import Tracer

from haiku_core._src import base
from haiku_core._src import config as _config
from haiku_core._src import module as hk_module
from haiku_core._src.base import Frame, PRNGSequence, _local
from haiku_core._src.errors import JaxUsageError, NonEmptyStateError, module_prefix

__all__ = [
    "MultiTransformed",
    "MultiTransformedWithState",
    "Transformed",
    "TransformedWithState",
    "multi_transform",
    "multi_transform_with_state",
    "running_init",
    "transform",
    "transform_with_state",
    "with_empty_state",
    "without_apply_rng",
    "without_state",
]

Params = Mapping[str, Mapping[str, jax.Array]]
State = Mapping[str, Mapping[str, jax.Array]]

running_init = base.running_init


class Transformed(NamedTuple):
    """A pair of pure functions from :func:`transform`.

    Attributes:
      init: ``init(rng, *args, **kwargs) -> params``.
      apply: ``apply(params, rng, *args, **kwargs) -> output``.
    """

    init: Callable[..., Any]
    apply: Callable[..., Any]


class TransformedWithState(NamedTuple):
    """A pair of pure functions from :func:`transform_with_state`.

    Attributes:
      init: ``init(rng, *args, **kwargs) -> (params, state)``.
      apply: ``apply(params, state, rng, *args, **kwargs) -> (output, new_state)``.
    """

    init: Callable[..., Any]
    apply: Callable[..., Any]


class MultiTransformed(NamedTuple):
    """Result of :func:`multi_transform`: one ``init`` and a pytree of ``apply`` functions.

    Attributes:
      init: ``init(rng, *args, **kwargs) -> params``.
      apply: pytree of ``apply(params, rng, *args, **kwargs)`` functions.
    """

    init: Callable[..., Any]
    apply: Any


class MultiTransformedWithState(NamedTuple):
    """Result of :func:`multi_transform_with_state`.

    Attributes:
      init: ``init(rng, *args, **kwargs) -> (params, state)``.
      apply: pytree of ``apply(params, state, rng, *args, **kwargs)`` functions.
    """

    init: Callable[..., Any]
    apply: Any


_INIT_RNG_MSG = (
    "Init must be called with an RNG as the first argument, the required signature is: "
    "`init(rng, *a, **k)`. Got {type}: {value!r}. Pass jax.random.PRNGKey(seed) (or an int "
    "seed, or None if the function draws no random keys)."
)
_APPLY_RNG_MSG = (
    "haiku_core.{owner}.apply: Apply must be called with an RNG as the {pos} argument, the "
    "required signature is: "
    "`{sig}`. Got {{type}}: {{value!r}}. Pass jax.random.PRNGKey(seed) or None (use "
    "hk.without_apply_rng(...) to drop the rng argument)."
)


def _check_rng(rng: Any, msg: str) -> PRNGSequence | None:
    if rng is None:
        return None
    if isinstance(rng, PRNGSequence):
        return rng
    try:
        return PRNGSequence(rng)
    except ValueError as e:
        raise ValueError(msg.format(type=type(rng).__name__, value=rng) + f" ({e})") from e


# Annotations of the leading arguments that init/apply add in front of f's own.
_LEADING_ANNOTATIONS = {
    "rng": jax.Array | int | None,
    "params": Params | None,
    "state": State | None,
}


def _signature(f: Callable, leading: list[str], returns: Any) -> inspect.Signature | None:
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return None
    P = inspect.Parameter
    if inspect.isfunction(returns):  # computed from f's own return annotation
        returns = returns(sig.return_annotation)
    lead = [
        P(n, P.POSITIONAL_OR_KEYWORD, annotation=_LEADING_ANNOTATIONS.get(n, P.empty))
        for n in leading
    ]
    rest = list(sig.parameters.values())
    # Leading parameters must precede any positional-only ones of f: make all of ours
    # positional-only if f has positional-only parameters.
    if any(p.kind == P.POSITIONAL_ONLY for p in rest):
        lead = [p.replace(kind=P.POSITIONAL_ONLY) for p in lead]
    names = {p.name for p in rest}
    lead = [p if p.name not in names else p.replace(name=p.name + "_") for p in lead]
    try:
        return sig.replace(parameters=lead + rest, return_annotation=returns)
    except ValueError:
        return None


def _check_not_jax_wrapped(f: Any, what: str) -> None:
    """Rejects functions already wrapped by ``jax.jit`` / ``jax.pmap``."""
    kind = type(f).__name__
    if kind in ("PjitFunction", "PmapFunction"):
        raise ValueError(
            f"{what}: got a function already wrapped by jax.jit/jax.pmap ({kind}). The "
            "function given to a Haiku transform is impure (it reads params and rng "
            "implicitly), so it cannot be jitted itself; transform the plain function and "
            "instead jit/pmap the init or apply function you get back, e.g. "
            "`jax.jit(hk.transform(f).apply)`."
        )


def _check_mapping(what: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(
            f"haiku_core.Transformed.apply: `{what}` must be a mapping "
            f"{{module_name: {{name: array}}}} (as returned by init), got "
            f"{type(value).__name__}: {value!r:.80}."
        )


def _run_in_frame(f: Callable[..., Any], frame: Frame, args: Any, kwargs: Any) -> Any:
    """Calls ``f`` with ``frame`` current, then checks for leaked tracers."""
    frames = _local.frames
    frames.append(frame)
    with _tracer_leaks_explained():
        try:
            out = _call(f, frame, args, kwargs)
        finally:
            frames.pop()
        if frame.suspicious:
            base.check_leaks(frame)
    return out


def _under_no_trace(inputs: Any) -> bool:
    """True when neither the inputs nor a fresh op are tracers (no enclosing trace)."""
    if any(isinstance(x, Tracer) for x in jax.tree.leaves(inputs)):
        return False
    return not isinstance(jnp.zeros((), jnp.float32), Tracer)


def _strict_interceptor(next_f, args, kwargs, ctx):
    """With check_jax_usage: module methods may not see tracers from a raw transform."""
    frame = _local.frames[-1]
    if frame.eager is True and any(isinstance(x, Tracer) for x in jax.tree.leaves((args, kwargs))):
        raise JaxUsageError(
            f"{module_prefix(ctx.module)}: {ctx.method_name} was called with traced "
            "inputs from a raw JAX transform used inside the transformed function "
            "(hk.config check_jax_usage=True). " + base._RAW_TRANSFORM_HINT
        )
    return next_f(*args, **kwargs)


class TracerLeakError(JaxUsageError, jax.errors.UnexpectedTracerError):
    """A JAX tracer escaped a raw JAX transform used inside a Haiku transform.

    It is both a :class:`JaxUsageError` and a ``jax.errors.UnexpectedTracerError``,
    so code catching either keeps working.
    """


_TRACER_LEAK_HINT = (
    "haiku_core.transform: a JAX tracer leaked while running a function transformed by "
    "hk.transform (the original error is chained above). A likely cause is a raw JAX "
    "transform or control-flow primitive (jax.jit, jax.vmap, jax.lax.scan, ...) used "
    "inside the transformed function around code that creates parameters or state or "
    "draws random keys; use the Haiku versions instead (hk.vmap, hk.scan, hk.remat, "
    "hk.cond, ...) or apply the JAX transform to the whole init/apply function."
)


@contextlib.contextmanager
def _tracer_leaks_explained() -> Iterator[None]:
    """Re-raises leaked-tracer errors as :class:`TracerLeakError` with a hint."""
    try:
        yield
    except TracerLeakError:
        raise
    except JaxUsageError as e:
        # Already explains the misuse; re-typed so it also reads as a tracer leak.
        raise TracerLeakError(str(e)) from e
    except jax.errors.UnexpectedTracerError as e:
        raise TracerLeakError(_TRACER_LEAK_HINT) from e


def _call(f: Callable, frame: Frame, args: tuple, kwargs: dict) -> Any:
    if not _config.tls.config.check_jax_usage:
        return f(*args, **kwargs)
    with hk_module.intercept_methods(_strict_interceptor):
        return f(*args, **kwargs)


def _run_init(f, rng, args, kwargs, with_state: bool):
    seq = _check_rng(rng, _INIT_RNG_MSG)
    params: dict = {}
    state: dict | None = {} if with_state else None
    initial: dict | None = {} if with_state else None
    frame = Frame(params, state, initial, seq, True)
    # Init is not on the hot path: decide once whether we run under an outer trace.
    key = seq._key if seq is not None else None
    frame.eager = _under_no_trace((args, kwargs, key))
    _run_in_frame(f, frame, args, kwargs)
    return params, initial


def transform_with_state(f: Callable[..., Any]) -> TransformedWithState:
    """Transforms ``f`` (which may use modules, params and state) into pure functions.

    Args:
      f: the function to transform.

    Returns:
      ``TransformedWithState(init, apply)`` with
      ``init(rng, *a, **k) -> (params, state)`` and
      ``apply(params, state, rng, *a, **k) -> (out, new_state)``.

    Example:
      >>> f = hk.transform_with_state(lambda x: hk.BatchNorm(True, True, 0.9)(x, True))
      >>> x = jnp.arange(6.0).reshape([3, 2])
      >>> params, state = f.init(jax.random.PRNGKey(0), x)
      >>> y, state = f.apply(params, state, None, x)
      >>> y.shape, sorted(state)
      ((3, 2), ['batch_norm/~/mean_ema', 'batch_norm/~/var_ema'])
    """
    _check_not_jax_wrapped(f, "haiku_core.transform_with_state")
    if isinstance(f, (Transformed, TransformedWithState)):
        raise ValueError(
            "haiku_core.transform_with_state: expected a function, got an already transformed "
            f"{type(f).__name__}; pass the original function."
        )

    def init_fn(rng, *args, **kwargs):
        return _run_init(f, rng, args, kwargs, True)

    apply_rng_msg = _APPLY_RNG_MSG.format(
        owner="TransformedWithState", pos="third", sig="apply(params, state, rng, *a, **k)"
    )

    def apply_fn(params, state, rng, *args, **kwargs):
        if rng is not None:
            rng = _check_rng(rng, apply_rng_msg)
        if params is None:
            params = {}
        if state is None:
            state = {}
        _check_mapping("params", params)
        _check_mapping("state", state)
        current = {k: dict(v) for k, v in state.items()}
        frame = Frame(params, current, state, rng, False)
        frame.inputs = (params, state, args, kwargs, rng and rng._key)
        if _config.tls.config.check_jax_usage:
            frame.eager = _under_no_trace(frame.inputs)
        out = _run_in_frame(f, frame, args, kwargs)
        return out, current

    _annotate(init_fn, f, ["rng"], "init", tuple[Params, State])
    _annotate(apply_fn, f, ["params", "state", "rng"], "apply", _with_state_return)
    return TransformedWithState(init_fn, apply_fn)


def transform(f: Callable[..., Any], *, apply_rng: bool = True) -> Transformed:
    """Transforms ``f`` (which may use modules and parameters) into pure functions.

    Args:
      f: the function to transform.
      apply_rng: deprecated, must be True (use :func:`without_apply_rng`).

    Returns:
      ``Transformed(init, apply)`` with ``init(rng, *a, **k) -> params`` and
      ``apply(params, rng, *a, **k) -> out``.

    Raises:
      ValueError: if ``apply_rng`` is False.

    Example:
      >>> f = hk.transform(lambda x: hk.Linear(3)(x))
      >>> x = jnp.ones([2, 4])
      >>> params = f.init(jax.random.PRNGKey(0), x)
      >>> jax.tree_util.tree_map(jnp.shape, params)
      {'linear': {'b': (3,), 'w': (4, 3)}}
      >>> f.apply(params, None, x).shape
      (2, 3)
    """
    if not apply_rng:
        raise ValueError(
            "haiku_core.transform: `apply_rng=False` is no longer supported; use "
            "hk.without_apply_rng(hk.transform(f))."
        )
    _check_not_jax_wrapped(f, "haiku_core.transform")
    if isinstance(f, (Transformed, TransformedWithState)):
        raise ValueError(
            "haiku_core.transform: expected a function, got an already transformed "
            f"{type(f).__name__}; pass the original function."
        )

    def init_fn(rng, *args, **kwargs):
        params, _ = _run_init(f, rng, args, kwargs, False)
        return params

    apply_rng_msg = _APPLY_RNG_MSG.format(
        owner="Transformed", pos="second", sig="apply(params, rng, *a, **k)"
    )

    def apply_fn(params, rng, *args, **kwargs):
        if "state" in kwargs:
            raise TypeError(_keyword_clash("state", "apply(params, rng, ...)"))
        if rng is not None:
            rng = _check_rng(rng, apply_rng_msg)
        if params is None:
            params = {}
        _check_mapping("params", params)
        frame = Frame(params, None, None, rng, False)
        frame.inputs = (params, args, kwargs, rng and rng._key)
        if _config.tls.config.check_jax_usage:
            frame.eager = _under_no_trace(frame.inputs)
        out = _run_in_frame(f, frame, args, kwargs)
        return out

    _annotate(init_fn, f, ["rng"], "init", Params)
    _annotate(apply_fn, f, ["params", "rng"], "apply", _plain_return)
    return Transformed(init_fn, apply_fn)


def _keyword_clash(name: str, sig: str) -> str:
    return (
        f"haiku_core.Transformed.apply: {sig} got `{name}=` as a keyword argument. `{name}` "
        "is one of the "
        "arguments (params, state, rng) the transform adds to apply, so a keyword of the "
        f"transformed function with that name must be passed positionally, after the "
        "transform's own arguments."
    )


def _plain_return(returns: Any) -> Any:
    """Return annotation of ``apply``: f's own (``Any`` when f has none)."""
    return Any if returns is inspect.Signature.empty else returns


def _with_state_return(returns: Any) -> Any:
    """Return annotation of a stateful ``apply``: ``(f's output, State)``."""
    return tuple[_plain_return(returns), State]


def _annotate(fn: Callable, f: Callable, leading: list[str], kind: str, returns: Any) -> None:
    sig = _signature(f, leading, returns)
    if sig is not None:
        fn.__signature__ = sig  # type: ignore[attr-defined]
    name = getattr(f, "__name__", "f")
    # dm-haiku's init/apply are called ``init_fn``/``apply_fn`` whatever ``f`` is
    # (the name shows up in jaxpr_info output and in JAX's named scopes).
    fn.__name__ = f"{kind}_fn"  # type: ignore[attr-defined]
    fn.__doc__ = f"The `{kind}` function of the transformed `{name}`."
    fn._hk_original = f  # type: ignore[attr-defined]


TransformedT = TypeVar("TransformedT", Transformed, TransformedWithState)


def without_apply_rng(f: TransformedT) -> TransformedT:
    """Removes the ``rng`` argument from ``apply`` (``init`` keeps it).

    Args:
      f: a Transformed / TransformedWithState (or their ``multi_`` versions).

    Returns:
      The same kind of pair, with ``apply(params, *a)`` (or ``apply(params, state, *a)``).

    Raises:
      TypeError: if ``f`` is not a transformed pair.
    """
    if isinstance(f, (Transformed, MultiTransformed)):
        with_state = False
    elif isinstance(f, (TransformedWithState, MultiTransformedWithState)):
        with_state = True
    else:
        raise TypeError(
            "haiku_core.without_apply_rng: expected the result of hk.transform / "
            f"hk.transform_with_state / hk.multi_transform*, got {type(f).__name__}."
        )

    def wrap(apply):
        def stateful_apply(params, state, *args, **kwargs):
            if "rng" in kwargs:
                raise TypeError(_keyword_clash("rng", "apply(params, state, ...)"))
            return apply(params, state, None, *args, **kwargs)

        def stateless_apply(params, *args, **kwargs):
            if "rng" in kwargs:
                raise TypeError(_keyword_clash("rng", "apply(params, ...)"))
            return apply(params, None, *args, **kwargs)

        apply_fn = functools.wraps(apply)(stateful_apply if with_state else stateless_apply)
        _drop_param(apply_fn, apply, "rng")
        return apply_fn

    if isinstance(f, (MultiTransformed, MultiTransformedWithState)):
        return type(f)(f.init, jax.tree.map(wrap, f.apply))  # type: ignore[return-value]
    return type(f)(f.init, wrap(f.apply))  # type: ignore[return-value]


def _drop_param(fn: Callable, orig: Callable, name: str) -> None:
    try:
        sig = inspect.signature(orig)
    except (TypeError, ValueError):
        return
    params = [p for p in sig.parameters.values() if p.name != name]
    fn.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    if hasattr(fn, "__wrapped__"):
        delattr(fn, "__wrapped__")


def without_state(f: TransformedWithState) -> Transformed:
    """Adapts a TransformedWithState to the Transformed calling convention.

    Args:
      f: a TransformedWithState whose state must stay empty.

    Returns:
      ``Transformed(init, apply)``.

    Raises:
      TypeError: if ``f`` is not a TransformedWithState.
      NonEmptyStateError: if init/apply produce state.
    """
    if not isinstance(f, TransformedWithState):
        raise TypeError(
            f"haiku_core.without_state: expected a TransformedWithState, got {type(f).__name__}."
        )

    def init_fn(*args, **kwargs):
        params, state = f.init(*args, **kwargs)
        if state:
            raise NonEmptyStateError(
                "haiku_core.without_state: the function created state "
                f"({sorted(state)}); use it through hk.transform_with_state."
            )
        return params

    def apply_fn(params, *args, **kwargs):
        if "state" in kwargs:
            raise TypeError(_keyword_clash("state", "apply(params, rng, ...)"))
        out, state = f.apply(params, {}, *args, **kwargs)
        if state:
            raise NonEmptyStateError(
                "haiku_core.without_state: the function created state "
                f"({sorted(state)}); use it through hk.transform_with_state."
            )
        return out

    _copy_sig(init_fn, f.init, drop=None)
    _copy_sig(apply_fn, f.apply, drop="state")
    return Transformed(init_fn, apply_fn)


def _copy_sig(fn, orig, drop):
    try:
        sig = inspect.signature(orig)
    except (TypeError, ValueError):
        return
    params = [p for p in sig.parameters.values() if p.name != drop]
    fn.__signature__ = sig.replace(parameters=params)


def with_empty_state(f: Transformed) -> TransformedWithState:
    """Adapts a Transformed to the TransformedWithState calling convention.

    Args:
      f: a Transformed.

    Returns:
      ``TransformedWithState`` whose init returns ``(params, {})`` and apply
      ``(out, {})``.

    Raises:
      TypeError: if ``f`` is not a Transformed.
    """
    if not isinstance(f, Transformed):
        raise TypeError(
            f"haiku_core.with_empty_state: expected a Transformed, got {type(f).__name__}."
        )

    def init_fn(*args, **kwargs):
        return f.init(*args, **kwargs), {}

    def apply_fn(params, state, *args, **kwargs):
        del state
        return f.apply(params, *args, **kwargs), {}

    return TransformedWithState(init_fn, apply_fn)


def multi_transform_with_state(
    f: Callable[[], tuple[Callable[..., Any], Any]],
) -> MultiTransformedWithState:
    """Transforms a factory of functions that share modules into one init + many applies.

    ``f()`` must return ``(template, fns)``: ``init`` runs ``template``; each leaf of
    the pytree ``fns`` becomes an ``apply`` function.

    Args:
      f: the factory (called inside the transform each time).

    Returns:
      ``MultiTransformedWithState(init, apply_tree)``.
    """

    def init_fn(rng, *args, **kwargs):
        def run(*a, **k):
            template, _ = f()
            return template(*a, **k)

        return transform_with_state(run).init(rng, *args, **kwargs)

    def fns_structure():
        out: list = []

        def probe():
            _, fns = f()
            out.append(jax.tree.structure(fns))

        transform_with_state(probe).init(None)
        return out[0]

    treedef = fns_structure()
    num = treedef.num_leaves

    def make_apply(i):
        def run(*a, **k):
            _, fns = f()
            return jax.tree.leaves(fns)[i](*a, **k)

        return transform_with_state(run).apply

    applies = jax.tree.unflatten(treedef, [make_apply(i) for i in range(num)])
    return MultiTransformedWithState(init_fn, applies)


def multi_transform(f: Callable[[], tuple[Callable[..., Any], Any]]) -> MultiTransformed:
    """Stateless :func:`multi_transform_with_state`.

    Args:
      f: factory returning ``(template, pytree_of_fns)``.

    Returns:
      ``MultiTransformed(init, apply_tree)``.

    Raises:
      NonEmptyStateError: if the functions use state.
    """
    f_ws = multi_transform_with_state(f)

    def init_fn(*args, **kwargs):
        params, state = f_ws.init(*args, **kwargs)
        if state:
            raise NonEmptyStateError(
                "haiku_core.multi_transform: the functions use state; use hk.multi_transform_with_state."
            )
        return params

    def wrap(apply):
        def apply_fn(params, rng, *args, **kwargs):
            out, state = apply(params, {}, rng, *args, **kwargs)
            if state:
                raise NonEmptyStateError(
                    "haiku_core.multi_transform: the functions use state; use "
                    "hk.multi_transform_with_state."
                )
            return out

        return apply_fn

    return MultiTransformed(init_fn, jax.tree.map(wrap, f_ws.apply))


from haiku_core._src.utils import set_public_module  # noqa: E402

set_public_module(globals(), __all__, "haiku_core")
