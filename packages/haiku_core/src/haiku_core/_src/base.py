"""The per-thread frame stack behind ``hk.transform`` and parameter/state/RNG access.

Every call of a transformed ``init``/``apply`` pushes one :class:`Frame` onto a
thread-local stack. The frame holds the params/state being created or read, the
RNG sequence, and a stack of *scopes* (one entry per running module method or
name scope) that determines where parameters live and how new modules are named.
Nothing here reads JAX's internal trace state: misuse of raw JAX transforms is
detected with :class:`jax.core.Tracer` checks on what is *stored* in the frame.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, cast

import jax
import jax.extend.core as jax_core
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from haiku_core._src import config as _config
from haiku_core._src.errors import (
    JaxUsageError,
    MissingParameterError,
    MissingRNGError,
    NonEmptyStateError,
)

__all__ = [
    "DO_NOT_STORE",
    "Frame",
    "GetterContext",
    "PRNGSequence",
    "SetterContext",
    "current_frame",
    "current_name",
    "get_current_state",
    "get_initial_state",
    "get_parameter",
    "get_params",
    "get_state",
    "maybe_get_rng_sequence_state",
    "maybe_next_rng_key",
    "next_rng_key",
    "next_rng_keys",
    "replace_rng_sequence_state",
    "reserve_rng_keys",
    "running_init",
    "set_state",
    "with_rng",
]

ROOT_SCOPE = "~"

# Scope entry layout (a list for speed): [module, method_name, scope_name, counters, used]
#   module:      the Module instance, or None for the root / a name scope
#   method_name: method whose body is running ("__init__", "__call__", ...)
#   scope_name:  the path under which params/state created here are stored
#   counters:    dict base_name -> next index for children (created lazily)
#   used:        set of child names handed out in this scope (created lazily)
MODULE, METHOD, SCOPE, COUNTERS, USED = range(5)

_RAW_TRANSFORM_HINT = (
    "This happens when a raw JAX transform (jax.vmap, jax.lax.scan, jax.jit, jax.checkpoint/"
    "jax.remat, jax.lax.cond/switch/while_loop/fori_loop/map, jax.grad ...) is used *inside* a "
    "function transformed by hk.transform around code that creates parameters or state or "
    "draws random keys. Use the Haiku-aware versions instead (hk.vmap, hk.scan, hk.remat, "
    "hk.cond, hk.switch, hk.while_loop, hk.fori_loop, hk.map, hk.grad), or apply the JAX "
    "transform to the whole init/apply function."
)


class _DoNotStore:
    """Sentinel type of :data:`DO_NOT_STORE`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "haiku_core.DO_NOT_STORE"

    def __reduce__(self):
        return "DO_NOT_STORE"

    # Code that treats a creator's result as an array fails loudly on the sentinel.
    @property
    def shape(self) -> Any:
        """Always raises: the sentinel is not an array."""
        raise ValueError(
            "haiku_core.DO_NOT_STORE: `shape` does not exist: the sentinel is not an array."
        )

    @property
    def dtype(self) -> Any:
        """Always raises: the sentinel is not an array."""
        raise ValueError(
            "haiku_core.DO_NOT_STORE: `dtype` does not exist: the sentinel is not an array."
        )


#: A custom creator/setter can return this to keep a value out of params/state.
DO_NOT_STORE: Any = _DoNotStore()


class _Local(threading.local):
    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.interceptors: list[Callable[..., Any]] = []


_local = _Local()


class Frame:
    """State of one running ``init``/``apply`` (or of a wrapper's inner trace)."""

    __slots__ = (
        "_eager",
        "concrete_inputs",
        "creators",
        "expected_traces",
        "fast",
        "getters",
        "initial_state",
        "inputs",
        "is_init",
        "lift_prefix",
        "params",
        "rng",
        "setters",
        "stack",
        "state",
        "state_creators",
        "state_getters",
        "suspicious",
        "trace_state",
        "used_lifted",
    )

    def __init__(
        self,
        params: Any,
        state: dict | None,
        initial_state: Any,
        rng: PRNGSequence | None,
        is_init: bool,
        stack: list | None = None,
    ) -> None:
        self.params = params
        self.state = state
        self.initial_state = initial_state
        self.rng = rng
        self.is_init = is_init
        self.stack = stack if stack is not None else [[None, "__call__", ROOT_SCOPE, None, None]]
        self.creators: list = []
        self.getters: list = []
        self.setters: list = []
        self.state_creators: list = []
        self.state_getters: list = []
        # `fast`: apply mode with no interceptors -> get_parameter is a dict lookup.
        self.fast = not is_init
        # `eager`: True/False when known, None when unknown (apply: decided lazily).
        self._eager: bool | None = None
        self.suspicious: list[str] = []
        self.inputs: Any = None
        self.concrete_inputs: bool | None = None
        # JAX's (opaque) trace state when the frame began; with ``check_jax_usage``
        # every side-effecting call must run in it, or in the inner trace of a
        # Haiku-aware wrapper (``expected_traces``, see :attr:`eager`).
        self.trace_state: Any = jax_core.get_opaque_trace_state(convention="haiku")
        self.expected_traces: list = []
        self.lift_prefix: str | None = None
        self.used_lifted: set = set()

    def refresh_fast(self) -> None:
        self.fast = not (self.is_init or self.getters or self.creators)

    @property
    def eager(self) -> bool | None:
        """Whether the frame runs outside any JAX trace (None: not known yet).

        Haiku-aware wrappers (``hk.vmap``, ``hk.scan`` ...) set it to False at the start
        of their inner traced function; the trace current at that moment is then an
        expected one for :meth:`check_usage`.
        """
        return self._eager

    @eager.setter
    def eager(self, value: bool | None) -> None:
        if value is False:
            self.expected_traces.append(jax_core.get_opaque_trace_state(convention="haiku"))
        self._eager = value

    def check_usage(self, what: str) -> None:
        """With ``check_jax_usage``: raises if a raw JAX transform runs ``what`` here.

        Args:
          what: the public name of the calling function, for the error message.

        Raises:
          JaxUsageError: if the current JAX trace is neither the one the frame began
            in nor the inner trace of a Haiku-aware wrapper.
        """
        if not _config.tls.config.check_jax_usage:
            return
        now = jax_core.get_opaque_trace_state(convention="haiku")
        if now == self.trace_state or any(now == t for t in self.expected_traces):
            return
        raise JaxUsageError(
            f"{what}: called inside a raw JAX transform or control-flow "
            "function nested in the transformed function (hk.config check_jax_usage=True). "
            + _RAW_TRANSFORM_HINT
        )

    def inputs_concrete(self) -> bool:
        """True when no explicit input of init/apply is a tracer (computed once)."""
        concrete = self.concrete_inputs
        if concrete is None:
            leaves = jax.tree.leaves(self.inputs)
            concrete = self.concrete_inputs = not any(isinstance(x, Tracer) for x in leaves)
            self.inputs = None
        return concrete

    def note_tracer(self, what: str, value: Any) -> None:
        """Checks a value about to be stored in this frame (params, state, rng).

        A tracer stored while the frame is known to run outside any JAX trace
        (``eager``) can only come from a raw transform nested in the function: raise
        now. When that is unknown (apply, without ``check_jax_usage``) and the
        explicit inputs were concrete, remember it; :func:`check_leaks` decides when
        the transform returns.
        """
        if not isinstance(value, Tracer):
            return
        eager = self.eager
        if eager is True:
            raise JaxUsageError(
                f"haiku_core.transform: {what} inside a raw JAX transform, so its value is a tracer "
                "that cannot leave that transform. " + _RAW_TRANSFORM_HINT
            )
        if eager is None and self.inputs_concrete():
            self.suspicious.append(what)


def current_frame() -> Frame:
    """Returns the innermost frame; raises if called outside a transform."""
    frames = _local.frames
    if not frames:
        raise ValueError(
            "haiku_core.transform: this must be called inside a function run by hk.transform."
        )
    return frames[-1]


def _outside(what: str) -> ValueError:
    return ValueError(
        f"{what}: must be used inside a function transformed with `hk.transform` (or "
        f"`hk.transform_with_state`), then called through its `init`/`apply`. It was called "
        "outside any transform. Wrap the code that builds modules in a function `f` and use "
        "`hk.transform(f)`."
    )


def frame_or_raise(what: str) -> Frame:
    frames = _local.frames
    if not frames:
        raise _outside(what)
    return frames[-1]


def check_leaks(frame: Frame) -> None:
    """Called when a transform finishes: reports tracers that escaped an inner trace."""
    if not frame.suspicious:
        return
    # Our inputs were concrete yet tracers were stored. If we are not under any trace
    # now, those tracers came from a raw transform nested inside the function.
    probe = jnp.zeros((), jnp.float32)
    if isinstance(probe, Tracer):
        return  # Under an enclosing trace that closed over values; JAX will judge.
    where = ", ".join(dict.fromkeys(frame.suspicious))
    raise JaxUsageError(
        f"haiku_core.transform: traced values leaked into {where}. " + _RAW_TRANSFORM_HINT
    )


# ----------------------------------------------------------------------------- contexts


class GetterContext(NamedTuple):
    """What a custom creator/getter is told about the value it handles.

    Attributes:
      full_name: ``"module/name"`` path of the parameter or state.
      module: the module whose method created it, or None.
      original_dtype: dtype requested by the caller of get_parameter/get_state.
      original_shape: shape requested by the caller.
      original_init: initializer given by the caller (may be None).
      lifted_prefix_name: name prefix added by an enclosing ``hk.lift``, or None.
    """

    full_name: str
    module: Any | None
    original_dtype: Any
    original_shape: Sequence[int]
    original_init: Any | None
    lifted_prefix_name: str | None

    @property
    def module_name(self) -> str:
        """Module path part of :attr:`full_name`."""
        return self.full_name.rsplit("/", 1)[0]

    @property
    def name(self) -> str:
        """Parameter/state name part of :attr:`full_name`."""
        return self.full_name.rsplit("/", 1)[1]


class SetterContext(NamedTuple):
    """What a custom setter is told about the state value being written.

    Attributes:
      full_name: ``"module/name"`` path of the state.
      module: the module whose method wrote it, or None.
      original_dtype: dtype of the value being set.
      original_shape: shape of the value being set.
      lifted_prefix_name: name prefix added by an enclosing ``hk.lift``, or None.
    """

    full_name: str
    module: Any | None
    original_dtype: Any
    original_shape: Sequence[int]
    lifted_prefix_name: str | None

    @property
    def module_name(self) -> str:
        """Module path part of :attr:`full_name`."""
        return self.full_name.rsplit("/", 1)[0]

    @property
    def name(self) -> str:
        """State name part of :attr:`full_name`."""
        return self.full_name.rsplit("/", 1)[1]


# ----------------------------------------------------------------------------- params


def _missing_param(frame: Frame, bundle: str, name: str, what: str = "parameter") -> Exception:
    full = f"{bundle}/{name}"
    store = frame.params if what == "parameter" else (frame.state or {})
    have = [f"{m}/{n}" for m, b in (store or {}).items() for n in b]
    shown = ", ".join(have[:20]) + (", ..." if len(have) > 20 else "")
    return MissingParameterError(
        f"haiku_core.get_{'parameter' if what == 'parameter' else 'state'}: "
        f"Unable to retrieve {what} '{name}' for module '{bundle}' ({full!r}): it is not in the "
        f"{'params' if what == 'parameter' else 'state'} given to apply. All parameters must be "
        f"created as part of `init`; pass the params returned by the same transform's `init`. "
        f"Available: [{shown}]."
    )


def _shape_mismatch(bundle: str, name: str, got: Any, shape: Any, dtype: Any) -> Exception:
    return ValueError(
        f"haiku_core.get_parameter: parameter '{bundle}/{name}': the given value has shape "
        f"{tuple(got)} but the module "
        f"expects shape {tuple(shape)} (dtype {np.dtype(dtype) if dtype is not None else 'float32'})."
        " Were the params created with different inputs or hyper-parameters?"
    )


def get_parameter(
    name: str,
    shape: Sequence[int],
    dtype: Any = jnp.float32,
    init: Callable[[Sequence[int], Any], jax.Array] | None = None,
) -> jax.Array:
    """Creates (under ``init``) or retrieves (under ``apply``) a parameter.

    The parameter is stored under the path of the innermost running module or name
    scope (``"~"`` outside any module).

    Args:
      name: parameter name, unique within its module.
      shape: shape of the parameter, e.g. ``[D_in, D_out]``.
      dtype: dtype of the parameter (default float32).
      init: initializer ``init(shape, dtype) -> Array``; required under ``init``.

    Returns:
      The parameter value, an array of shape ``shape``.

    Raises:
      ValueError: outside a transform; if ``init`` is missing while creating; if the
        parameter is missing from the params given to apply; or if the value (after
        any custom getters) does not have shape ``shape``.
    """
    frames = _local.frames
    if not frames:
        raise _outside("haiku_core.get_parameter")
    frame = frames[-1]
    bundle = frame.stack[-1][SCOPE]
    if frame.fast:
        if _config.tls.config.check_jax_usage:
            frame.check_usage("haiku_core.get_parameter")
        try:
            value = frame.params[bundle][name]
        except (KeyError, TypeError):
            raise _missing_param(frame, bundle, name) from None
        # np.shape also reads Python scalars (e.g. a TypedInt stored by upstream).
        vshape = np.shape(value)
        if vshape != shape and vshape != tuple(shape):
            raise _shape_mismatch(bundle, name, vshape, shape, dtype)
        return value
    return _get_parameter_slow(frame, bundle, name, shape, dtype, init)


def _get_parameter_slow(frame, bundle, name, shape, dtype, init):
    if _config.tls.config.check_jax_usage:
        frame.check_usage("haiku_core.get_parameter")
    if dtype is None:
        dtype = jnp.float32
    if frame.lift_prefix is not None:
        bundle = frame.lift_prefix + bundle if bundle != ROOT_SCOPE else bundle
    full_name = f"{bundle}/{name}"
    given_shape = shape  # creators and getters see the shape as the caller wrote it
    shape = tuple(int(d) for d in shape)
    ctx = None
    params = frame.params
    bundle_dict = params.get(bundle) if params is not None else None
    if bundle_dict is not None and name in bundle_dict:
        value = bundle_dict[name]
    elif frame.is_init or frame.creators:
        # Under apply a creator may still supply the value (and keep it out of the
        # params with DO_NOT_STORE); anything it stores is an error there.
        if init is None:
            init = _no_init(frame, bundle, name)
        if frame.creators:
            ctx = _make_getter_ctx(frame, full_name, dtype, given_shape, init)
            try:
                value = _run_chain(
                    frame.creators, lambda s, d, i: i(s, d), (given_shape, dtype, init), ctx
                )
            except MissingRNGError as e:
                if frame.is_init:
                    raise
                raise _missing_param(frame, bundle, name) from e
        else:
            value = init(shape, dtype)
        if value is not DO_NOT_STORE:
            if not frame.is_init:
                raise _missing_param(frame, bundle, name)
            if value is None:
                raise ValueError(
                    f"haiku_core.get_parameter: parameter '{name}' in module '{bundle}': the initializer or "
                    "custom creator returned None; parameters must be arrays."
                )
            frame.note_tracer(f"parameter '{full_name}' was created", value)
            cast(Any, params).setdefault(bundle, {})[name] = value
    else:
        raise _missing_param(frame, bundle, name)
    if frame.getters:
        if ctx is None:
            ctx = _make_getter_ctx(frame, full_name, dtype, given_shape, init)
        value = _run_chain(frame.getters, lambda v: v, (value,), ctx)
    if value is None:
        raise ValueError(
            f"haiku_core.get_parameter: parameter '{name}' in module '{bundle}': a custom getter returned None; "
            "parameters must be arrays."
        )
    if value is DO_NOT_STORE:
        raise ValueError(
            f"haiku_core.get_parameter: parameter '{name}' in module '{bundle}': a custom creator returned "
            "DO_NOT_STORE and no custom getter replaced it with an array, so there is no "
            "value to return. Install a custom_getter that supplies the value."
        )
    if np.shape(value) != shape:
        raise _shape_mismatch(bundle, name, np.shape(value), shape, dtype)
    return value


def _no_init(frame: Frame, bundle: str, name: str) -> Callable[[Any, Any], Any]:
    """Stand-in for a missing initializer; it raises only if something calls it."""

    def init(shape: Any, dtype: Any) -> Any:
        if frame.is_init:
            raise ValueError(
                f"haiku_core.get_parameter: parameter '{name}' in module '{bundle}': an initializer must be "
                "specified when the parameter is created (pass init=..., e.g. "
                "hk.initializers.TruncatedNormal() or jnp.zeros)."
            )
        raise _missing_param(frame, bundle, name)

    return init


def _make_getter_ctx(frame, full_name, dtype, shape, init):
    module = frame.stack[-1][MODULE]
    return GetterContext(
        full_name=full_name,
        module=module,
        original_dtype=dtype,
        original_shape=shape,
        original_init=init,
        lifted_prefix_name=frame.lift_prefix.rstrip("/") if frame.lift_prefix else None,
    )


def _run_chain(interceptors: list, base: Callable, args: tuple, ctx: Any) -> Any:
    """Runs interceptors, the first installed (outermost context) first."""
    chain = tuple(interceptors)
    n = len(chain)

    def call(i: int, *a):
        if i == n:
            return base(*a)
        return chain[i](lambda *aa: call(i + 1, *aa), *a, ctx)

    return call(0, *args)


def get_params() -> Mapping[str, Mapping[str, jax.Array]]:
    """Returns the params visible in the current transform (a read-only copy).

    Returns:
      ``{module_path: {name: array}}``.

    Raises:
      ValueError: outside a transform.
    """
    frame = frame_or_raise("haiku_core.get_params")
    return {k: dict(v) for k, v in (frame.params or {}).items()}


# ----------------------------------------------------------------------------- state


def _state_store(frame: Frame, what: str) -> dict:
    state = frame.state
    if state is None:
        raise NonEmptyStateError(
            f"{what}: used in a function transformed with `hk.transform`, which has no "
            "state. Use `hk.transform_with_state` for functions that call `hk.get_state` / "
            "`hk.set_state` (e.g. BatchNorm, ExponentialMovingAverage)."
        )
    return state


def get_state(
    name: str,
    shape: Sequence[int] | None = None,
    dtype: Any = jnp.float32,
    init: Callable[[Sequence[int], Any], jax.Array] | None = None,
) -> jax.Array:
    """Gets the current value of a state entry, creating it with ``init`` if absent.

    Args:
      name: state name, unique within its module.
      shape: shape used with ``init`` when the value is created.
      dtype: dtype used with ``init`` (default float32).
      init: initializer ``init(shape, dtype)``; needed when the value does not exist.

    Returns:
      The current value (including earlier ``set_state`` writes in this call).

    Raises:
      ValueError: outside a transform, or the value is missing and ``init`` is None.
      NonEmptyStateError: under ``hk.transform`` (use ``hk.transform_with_state``).
    """
    frames = _local.frames
    if not frames:
        raise _outside("haiku_core.get_state")
    frame = frames[-1]
    if _config.tls.config.check_jax_usage:
        frame.check_usage("haiku_core.get_state")
    state = _state_store(frame, "haiku_core.get_state")
    bundle = frame.stack[-1][SCOPE]
    if frame.lift_prefix is not None and bundle != ROOT_SCOPE:
        bundle = frame.lift_prefix + bundle
    bundle_dict = state.get(bundle)
    if bundle_dict is not None and name in bundle_dict:
        value = bundle_dict[name]
    else:
        if init is None:
            raise ValueError(
                f"haiku_core.get_state: state '{name}' in module '{bundle}': no value exists yet and no "
                "initializer was given. Pass init=... (e.g. jnp.zeros) or call hk.set_state "
                "first."
            )
        if shape is None or dtype is None:
            raise ValueError(
                f"haiku_core.get_state: state '{name}' in module '{bundle}': to create the value with "
                "`init`, provide shape and dtype as well (e.g. shape=[], dtype=jnp.float32)."
            )
        shape_t = tuple(int(d) for d in shape)
        if frame.state_creators:
            ctx = _make_getter_ctx(frame, f"{bundle}/{name}", dtype, shape_t, init)
            value = _run_chain(
                frame.state_creators, lambda s, d, i: i(s, d), (shape_t, dtype, init), ctx
            )
        else:
            value = init(shape_t, dtype)
        if value is not DO_NOT_STORE:
            frame.note_tracer(f"state '{bundle}/{name}' was set", value)
            _store_state(frame, state, bundle, name, value, initial=True)
    if frame.state_getters:
        ctx = _make_getter_ctx(
            frame, f"{bundle}/{name}", dtype, shape if shape is not None else value.shape, init
        )
        value = _run_chain(frame.state_getters, lambda v: v, (value,), ctx)
    return value


def _store_state(frame, state, bundle, name, value, initial=False):
    state.setdefault(bundle, {})[name] = value
    if frame.is_init and frame.initial_state is not None:
        init_bundle = frame.initial_state.setdefault(bundle, {})
        if initial or name not in init_bundle:
            init_bundle[name] = value


def set_state(name: str, value: Any) -> None:
    """Sets the current value of a state entry of the current module.

    Under ``init`` the first value written also becomes the initial state returned by
    ``init``.

    Args:
      name: state name, unique within its module.
      value: new value (any array or pytree of arrays).

    Raises:
      ValueError: outside a transform.
      NonEmptyStateError: under ``hk.transform`` (use ``hk.transform_with_state``).
    """
    frames = _local.frames
    if not frames:
        raise _outside("haiku_core.set_state")
    frame = frames[-1]
    if _config.tls.config.check_jax_usage:
        frame.check_usage("haiku_core.set_state")
    state = _state_store(frame, "haiku_core.set_state")
    bundle = frame.stack[-1][SCOPE]
    if frame.lift_prefix is not None and bundle != ROOT_SCOPE:
        bundle = frame.lift_prefix + bundle
    if frame.setters:
        ctx = SetterContext(
            full_name=f"{bundle}/{name}",
            module=frame.stack[-1][MODULE],
            original_dtype=getattr(value, "dtype", None),
            original_shape=getattr(value, "shape", ()),
            lifted_prefix_name=frame.lift_prefix.rstrip("/") if frame.lift_prefix else None,
        )
        value = _run_chain(frame.setters, lambda v: v, (value,), ctx)
        if value is DO_NOT_STORE:
            return
    frame.note_tracer(f"state '{bundle}/{name}' was set", value)
    _store_state(frame, state, bundle, name, value)


def get_current_state() -> Mapping[str, Mapping[str, jax.Array]]:
    """Returns the state as it is now in this call (a copy).

    Returns:
      ``{module_path: {name: array}}``.

    Raises:
      ValueError: outside a transform.
    """
    frame = frame_or_raise("haiku_core.get_current_state")
    return {k: dict(v) for k, v in (frame.state or {}).items()}


def get_initial_state() -> Mapping[str, Mapping[str, jax.Array]]:
    """Returns the state as it was when the current init/apply started (a copy).

    Returns:
      ``{module_path: {name: array}}``.

    Raises:
      ValueError: outside a transform.
    """
    frame = frame_or_raise("haiku_core.get_initial_state")
    return {k: dict(v) for k, v in (frame.initial_state or {}).items()}


def running_init() -> bool:
    """Returns True while an ``init`` function runs, False under ``apply``.

    Raises:
      ValueError: outside a transform.
    """
    return frame_or_raise("haiku_core.running_init").is_init


def current_name() -> str:
    """Returns the full name of the innermost module or name scope (``"~"`` at top level).

    Raises:
      ValueError: outside a transform.
    """
    frame = frame_or_raise("haiku_core.current_name")
    return frame.stack[-1][SCOPE]


# ----------------------------------------------------------------------------- rng


def is_prng_key(x: Any) -> bool:
    """True for a typed key array or a raw ``uint32[..., 2]`` key (incl. tracers)."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return False
    if cast(Any, jax.dtypes).issubdtype(dtype, jax.dtypes.prng_key):
        return True
    shape = getattr(x, "shape", None)
    return dtype == np.uint32 and shape is not None and len(shape) >= 1 and shape[-1] == 2


def _is_int_seed_array(x: Any) -> bool:
    """A scalar int32 array (possibly traced) used as a seed."""
    return getattr(x, "shape", None) == () and getattr(x, "dtype", None) == np.int32


def _seq_key(key_or_seed: Any) -> jax.Array:
    """Validates the seed or key given to :class:`PRNGSequence` and returns a key."""
    if isinstance(key_or_seed, (int, np.integer)) and not isinstance(key_or_seed, bool):
        return jax.random.PRNGKey(key_or_seed)
    if _is_int_seed_array(key_or_seed):
        return jax.random.PRNGKey(key_or_seed)
    dtype = getattr(key_or_seed, "dtype", None)
    shape = getattr(key_or_seed, "shape", None)
    if dtype is None or shape is None:
        raise ValueError(_SEQ_MSG.format(type=type(key_or_seed).__name__, value=key_or_seed))
    if cast(Any, jax.dtypes).issubdtype(dtype, jax.dtypes.prng_key):
        if tuple(shape):
            raise ValueError(
                "haiku_core.PRNGSequence: key did not have expected shape and/or dtype: a typed key "
                f"must be a single key of shape (), got shape {tuple(shape)} ({dtype}). Pass "
                "one key, not a batch of keys."
            )
        return cast(jax.Array, key_or_seed)
    expected = _raw_key_shape()
    if tuple(shape) != expected or dtype != np.uint32:
        raise ValueError(
            "haiku_core.PRNGSequence: key did not have expected shape and/or dtype: expected a raw "
            f"key of shape {expected} and dtype uint32, got shape {tuple(shape)} and dtype "
            f"{dtype}. Pass one key (e.g. jax.random.PRNGKey(0)), not a batch of keys."
        )
    return cast(jax.Array, key_or_seed)


_RAW_KEY_SHAPES: dict[Any, tuple[int, ...]] = {}


def _raw_key_shape() -> tuple[int, ...]:
    """Shape of a raw ``jax.random.PRNGKey`` under the configured default PRNG impl."""
    impl = cast(Any, jax.config).jax_default_prng_impl
    shape = _RAW_KEY_SHAPES.get(impl)
    if shape is None:
        shape = tuple(jax.eval_shape(lambda: jax.random.PRNGKey(0)).shape)
        _RAW_KEY_SHAPES[impl] = shape
    return shape


def to_prng_key(key_or_seed: Any, what: str) -> jax.Array:
    if isinstance(key_or_seed, (int, np.integer)) and not isinstance(key_or_seed, bool):
        return jax.random.PRNGKey(key_or_seed)
    if not is_prng_key(key_or_seed):
        raise ValueError(what.format(type=type(key_or_seed).__name__, value=key_or_seed))
    return cast(jax.Array, key_or_seed)


class PRNGSequence(Iterator[jax.Array]):
    """An iterator of fresh PRNG keys derived from a seed or key.

    Each refill splits the internal key into ``n + 1`` keys: the first becomes the new
    internal key and the remaining ``n`` are handed out in order.

    Example:
      >>> seq = PRNGSequence(42)
      >>> k1, k2 = next(seq), next(seq)
    """

    def __init__(self, key_or_seed: jax.Array | int | tuple[jax.Array, Iterable[jax.Array]]):
        """Creates the sequence.

        Args:
          key_or_seed: an int seed, a PRNG key (``uint32[2]`` or typed), or an
            ``internal_state`` tuple ``(key, reserved_keys)`` from another sequence.

        Raises:
          ValueError: if the argument is none of these.
        """
        if (
            isinstance(key_or_seed, tuple)
            and len(key_or_seed) == 2
            and not hasattr(key_or_seed, "dtype")
        ):
            key, subkeys = key_or_seed
            self._key = to_prng_key(key, _SEQ_MSG)
            self._subkeys = collections.deque(subkeys)
        else:
            self._key = _seq_key(key_or_seed)
            self._subkeys = collections.deque()
        self._draws = 0
        self._scoped = False

    def reserve(self, num: int) -> None:
        """Splits ``num`` keys now so the next ``num`` draws need no further split.

        Args:
          num: number of keys to reserve (<= 0 does nothing).
        """
        if num > 0:
            keys = jax.random.split(self._key, num + 1)
            self._key = keys[0]
            self._subkeys.extend(keys[1:])

    def reserve_up_to_full(self) -> None:
        """Reserves keys until ``rng_reserve_size`` keys are held."""
        self.reserve(_config.tls.config.rng_reserve_size - len(self._subkeys))

    @property
    def internal_state(self) -> tuple[jax.Array, tuple[jax.Array, ...]]:
        """``(key, reserved_keys)``; pass it to ``PRNGSequence`` to resume."""
        return self._key, tuple(self._subkeys)

    def replace_internal_state(self, state: tuple[jax.Array, Iterable[jax.Array]]) -> None:
        """Replaces the internal state with one from :attr:`internal_state`.

        Args:
          state: ``(key, reserved_keys)``.
        """
        key, subkeys = state
        self._key = key
        self._subkeys = collections.deque(subkeys)

    def __next__(self) -> jax.Array:
        if not self._subkeys:
            size = _config.tls.config.rng_reserve_size
            self.reserve(size)
            if not self._subkeys:
                raise _EmptyReserveError(
                    "haiku_core.PRNGSequence: no reserved key to hand out and "
                    f"`rng_reserve_size` is {size}, so none is split off; set "
                    "hk.config rng_reserve_size >= 1 (or reserve keys first with "
                    "hk.reserve_rng_keys)."
                )
        self._draws += 1
        return self._subkeys.popleft()

    next = __next__

    def take(self, num: int) -> tuple[jax.Array, ...]:
        """Returns ``num`` keys as a tuple.

        Args:
          num: how many keys.
        """
        self.reserve(max(num - len(self._subkeys), 0))
        return tuple(next(self) for _ in range(num))


class _EmptyReserveError(IndexError):
    """A single key was drawn while ``rng_reserve_size`` < 1 and no key was reserved."""


_SEQ_MSG = (
    "haiku_core.PRNGSequence: expected an int seed or a PRNG key (jax.random.key / "
    "jax.random.PRNGKey), got {type}: {value!r}."
)


def _rng_seq(frame: Frame, what: str) -> PRNGSequence:
    rng = frame.rng
    if rng is None:
        raise MissingRNGError(
            f"{what}: needs a random key, but this init/apply was called with rng=None. Pass "
            "a key, e.g. `f.apply(params, jax.random.PRNGKey(0), x)` (or "
            "`f.init(jax.random.PRNGKey(0), x)`), or avoid randomness in apply "
            "(hk.maybe_next_rng_key returns None when no rng was given)."
        )
    return rng


def _draw(frame: Frame, what: str, num: int | None) -> jax.Array:
    if _config.tls.config.check_jax_usage:
        frame.check_usage(what)
    seq = _rng_seq(frame, what)
    try:
        if num is None:
            key = next(seq)
        else:
            seq.reserve(max(num - len(seq._subkeys), 0))
            keys = [seq._subkeys.popleft() for _ in range(num)]
            seq._draws += num
            key = jnp.stack(keys) if keys else jnp.zeros((0, *seq._key.shape), seq._key.dtype)
    except jax.errors.UnexpectedTracerError as e:
        raise JaxUsageError(
            f"{what}: found a random key that leaked out of an inner JAX "
            "transform. " + _RAW_TRANSFORM_HINT
        ) from e
    if not seq._scoped:
        # A sequence installed by hk.with_rng is local to its block (and may well be
        # made of tracers there); only the transform's own sequence must stay clean.
        frame.note_tracer("the rng sequence was advanced", seq._key)
    return key


def next_rng_key() -> jax.Array:
    """Returns a fresh PRNG key from the sequence given to ``init``/``apply``.

    Returns:
      A key (same kind as the one passed in).

    Raises:
      ValueError: outside a transform.
      MissingRNGError: if init/apply got ``rng=None``.
    """
    frames = _local.frames
    if not frames:
        raise _outside("haiku_core.next_rng_key")
    return _draw(frames[-1], "haiku_core.next_rng_key", None)


def next_rng_keys(num: int) -> jax.Array:
    """Returns ``num`` fresh keys stacked into an array ``[num, *key_shape]``.

    Args:
      num: number of keys.

    Raises:
      ValueError: outside a transform.
      MissingRNGError: if init/apply got ``rng=None``.
    """
    frames = _local.frames
    if not frames:
        raise _outside("haiku_core.next_rng_keys")
    return _draw(frames[-1], "haiku_core.next_rng_keys", int(num))


def maybe_next_rng_key() -> jax.Array | None:
    """Like :func:`next_rng_key`, but returns None when no rng was given.

    Raises:
      ValueError: outside a transform.
    """
    frames = _local.frames
    if not frames:
        raise _outside("haiku_core.maybe_next_rng_key")
    if frames[-1].rng is None:
        return None
    return _draw(frames[-1], "haiku_core.maybe_next_rng_key", None)


def reserve_rng_keys(num: int) -> None:
    """Pre-splits ``num`` keys in the current sequence (one split instead of many).

    Args:
      num: number of keys to reserve.

    Raises:
      ValueError: outside a transform.
      MissingRNGError: if init/apply got ``rng=None``.
    """
    frame = frame_or_raise("haiku_core.reserve_rng_keys")
    frame.check_usage("haiku_core.reserve_rng_keys")
    _rng_seq(frame, "haiku_core.reserve_rng_keys").reserve(int(num))


def maybe_get_rng_sequence_state() -> tuple[jax.Array, Iterable[jax.Array]] | None:
    """Returns the active RNG sequence's internal state, or None without an rng.

    Raises:
      ValueError: outside a transform.
    """
    frame = frame_or_raise("haiku_core.maybe_get_rng_sequence_state")
    return None if frame.rng is None else frame.rng.internal_state


def replace_rng_sequence_state(state: tuple[jax.Array, Iterable[jax.Array]]) -> None:
    """Replaces the active RNG sequence's internal state.

    Args:
      state: ``(key, reserved_keys)`` as from :func:`maybe_get_rng_sequence_state`.

    Raises:
      ValueError: outside a transform.
      MissingRNGError: if init/apply got ``rng=None``.
    """
    frame = frame_or_raise("haiku_core.replace_rng_sequence_state")
    frame.check_usage("haiku_core.replace_rng_sequence_state")
    _rng_seq(frame, "haiku_core.replace_rng_sequence_state").replace_internal_state(state)


class with_rng:
    """Context manager: ``next_rng_key`` draws from a new sequence seeded by ``key``.

    Example:
      >>> def f():
      ...     with hk.with_rng(jax.random.PRNGKey(0)):
      ...         return hk.next_rng_key()
      >>> key = hk.transform(f).apply({}, None)  # no rng given to apply
      >>> key.shape
      (2,)
    """

    def __init__(self, key: jax.Array | int | None):
        """Args:
        key: a PRNG key or int seed; None removes the rng inside the block.
        """
        self._seq = None if key is None else PRNGSequence(key)
        if self._seq is not None:
            self._seq._scoped = True
        self._old: list = []

    def __enter__(self) -> None:
        frame = frame_or_raise("haiku_core.with_rng")
        frame.check_usage("haiku_core.with_rng")
        self._old.append((frame, frame.rng))
        frame.rng = self._seq

    def __exit__(self, *exc: object) -> None:
        frame, rng = self._old.pop()
        frame.rng = rng


from haiku_core._src.utils import set_public_module  # noqa: E402

set_public_module(globals(), __all__, "haiku_core")

# The interceptor context managers act on the frames defined above; they are also
# reachable from this module, next to get_parameter/get_state which they wrap.
from haiku_core._src.interception import (  # noqa: E402
    custom_creator as custom_creator,
)
from haiku_core._src.interception import (  # noqa: E402
    custom_getter as custom_getter,
)
from haiku_core._src.interception import (  # noqa: E402
    custom_setter as custom_setter,
)
