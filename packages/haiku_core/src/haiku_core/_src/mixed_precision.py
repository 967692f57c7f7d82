"""Mixed-precision policies per module class (``hk.mixed_precision``), without jmp.

A :class:`Policy` names three dtypes: ``param_dtype`` (how parameters are created and
stored), ``compute_dtype`` (what a module's inputs and parameters are cast to while it
runs) and ``output_dtype`` (what its outputs are cast to).  Only floating-point
arrays are cast; integer, boolean and complex arrays, Python scalars and other
leaves pass through unchanged.  The API mirrors ``jmp.Policy`` and
``jmp.get_policy``'s string syntax, and any jmp-style object with the same methods
can be registered too.

Policies are registered per module *class* (exactly ``type(module)``, not its
subclasses, as in dm-haiku) with :func:`set_policy` / :func:`push_policy`.

Contract with the module system (``haiku_core._src.module``), which applies policies:

* ``_policy_for_module(module) -> Policy | None``: the policy registered for
  ``type(module)``; returns ``None`` immediately when no policy is registered at all
  (it is on the hot path of every module method call).
* The registry sets ``module._MP_ACTIVE[0]`` to whether any policy is registered,
  so the wrapper can skip the lookup entirely otherwise.
* When a module method runs under a policy, the wrapper enters
  ``_policy_scope(policy)`` (or calls ``_push_current(policy)`` before and
  ``_pop_current()`` after, in a ``finally``),
  so :func:`current_policy` reports it, including inside submodules without a
  policy of their own.  Within that call the wrapper casts the method's
  arguments with ``cast_to_compute``, creates parameters in ``param_dtype`` and casts
  them to ``compute_dtype`` when read, and casts the result with ``cast_to_output``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from haiku_core._src import base
from haiku_core._src import module as hk_module

__all__ = [
    "Policy",
    "clear_policy",
    "current_policy",
    "get_policy",
    "half_dtype",
    "parse_policy",
    "push_policy",
    "set_policy",
]

_PUBLIC = "haiku_core.mixed_precision"


# --- dtype names ---------------------------------------------------------------------


def half_dtype() -> np.dtype:
    """The platform's preferred 16-bit float: bfloat16 on TPU, float16 elsewhere.

    Returns:
      ``bfloat16`` if the default JAX backend is a TPU, else ``float16``.
    """
    return jnp.dtype(jnp.bfloat16) if jax.default_backend() == "tpu" else jnp.dtype(jnp.float16)


_FIXED_NAMES = {
    "full": jnp.float32,
    "f": jnp.float32,
    "float32": jnp.float32,
    "f32": jnp.float32,
    "single": jnp.float32,
    "float16": jnp.float16,
    "f16": jnp.float16,
    "bfloat16": jnp.bfloat16,
    "bf16": jnp.bfloat16,
    "float64": jnp.float64,
    "f64": jnp.float64,
    "double": jnp.float64,
}
_HALF_NAMES = ("half", "h")


def _parse_dtype(text: str, spec: str) -> np.dtype:
    name = text.strip().lower()
    if name in _HALF_NAMES:
        return half_dtype()
    if name in _FIXED_NAMES:
        return jnp.dtype(_FIXED_NAMES[name])
    raise ValueError(
        f"{_PUBLIC}: unknown dtype {text.strip()!r} in policy spec {spec!r}; expected one "
        f"of full/f32/float32, half, f16/float16, bf16/bfloat16, f64/float64."
    )


def _short_name(dtype: Any) -> str:
    dt = jnp.dtype(dtype)
    return {
        jnp.dtype(jnp.float32): "full",
        jnp.dtype(jnp.float16): "f16",
        jnp.dtype(jnp.bfloat16): "bf16",
        jnp.dtype(jnp.float64): "f64",
    }.get(dt, dt.name)


# --- Policy ----------------------------------------------------------------------------


def _cast_floating(tree: Any, dtype: np.dtype) -> Any:
    def cast(x: Any) -> Any:
        if isinstance(x, (jax.Array, np.ndarray)) and jnp.issubdtype(x.dtype, jnp.floating):
            return x if x.dtype == dtype else x.astype(dtype)
        return x

    return jax.tree.map(cast, tree)


@dataclasses.dataclass(frozen=True)
class Policy:
    """Dtypes for a module's parameters, computation and outputs.

    Build one directly, or from a string with :func:`parse_policy` /
    :meth:`Policy.from_string` (``"params=float32,compute=bfloat16,output=float32"``,
    ``"p=f32,c=bf16,o=f32"``, or one dtype for all three such as ``"bfloat16"``).

    Attributes:
      param_dtype: dtype parameters are created and stored in.
      compute_dtype: dtype inputs and parameters are cast to inside the module.
      output_dtype: dtype the module's outputs are cast to.

    >>> import jax.numpy as jnp
    >>> from haiku_core import mixed_precision as mp
    >>> policy = mp.Policy.from_string("p=f32,c=bf16,o=f32")
    >>> policy.cast_to_compute({"x": jnp.ones(2)})["x"].dtype
    dtype(bfloat16)
    """

    param_dtype: np.dtype
    compute_dtype: np.dtype
    output_dtype: np.dtype

    def __post_init__(self) -> None:
        for field in ("param_dtype", "compute_dtype", "output_dtype"):
            value = getattr(self, field)
            try:
                dt = jnp.dtype(value)
            except TypeError as e:
                raise TypeError(f"{_PUBLIC}.Policy: `{field}` is not a dtype: {value!r}.") from e
            if not jnp.issubdtype(dt, jnp.floating):
                raise ValueError(
                    f"{_PUBLIC}.Policy: `{field}` must be a floating dtype, got {dt.name}."
                )
            object.__setattr__(self, field, dt)

    @classmethod
    def from_string(cls, spec: str) -> Policy:
        """Parses a policy spec (see :func:`parse_policy`)."""
        return parse_policy(spec)

    def cast_to_param(self, tree: Any) -> Any:
        """Casts the floating-point arrays of a pytree to ``param_dtype``."""
        return _cast_floating(tree, self.param_dtype)

    def cast_to_compute(self, tree: Any) -> Any:
        """Casts the floating-point arrays of a pytree to ``compute_dtype``."""
        return _cast_floating(tree, self.compute_dtype)

    def cast_to_output(self, tree: Any) -> Any:
        """Casts the floating-point arrays of a pytree to ``output_dtype``."""
        return _cast_floating(tree, self.output_dtype)

    def with_output_dtype(self, output_dtype: Any) -> Policy:
        """Returns a copy of this policy with a different ``output_dtype``."""
        return dataclasses.replace(self, output_dtype=output_dtype)

    def __str__(self) -> str:
        return (
            f"p={_short_name(self.param_dtype)},c={_short_name(self.compute_dtype)},"
            f"o={_short_name(self.output_dtype)}"
        )


_KEYS = {"p": "param", "params": "param", "c": "compute", "compute": "compute"}
_KEYS.update({"o": "output", "output": "output"})


def parse_policy(spec: str) -> Policy:
    """Parses a policy string as ``jmp.get_policy`` does.

    Forms: ``"params=float32,compute=bfloat16,output=float32"`` (keys ``p``/``params``,
    ``c``/``compute``, ``o``/``output``, any subset), or a single dtype name for all
    three (``"float32"``, ``"half"``, ``"bf16"``...).  A missing ``params`` is float32,
    a missing ``compute`` equals ``params``, a missing ``output`` equals ``compute``.
    Dtype names: ``full``/``f32``/``float32``, ``half`` (bfloat16 on TPU, float16
    elsewhere), ``f16``/``float16``, ``bf16``/``bfloat16``, ``f64``/``float64``.
    Case and surrounding spaces are ignored.

    Args:
      spec: the policy string.

    Returns:
      The :class:`Policy`.

    Raises:
      TypeError: if ``spec`` is not a string.
      ValueError: naming the bad part, for an unknown key or dtype or a malformed
        ``key=value`` part.

    >>> from haiku_core import mixed_precision as mp
    >>> str(mp.parse_policy("params=float32,compute=bfloat16,output=float32"))
    'p=full,c=bf16,o=full'
    """
    if not isinstance(spec, str):
        raise TypeError(f"{_PUBLIC}.parse_policy: `spec` must be a str, got {type(spec).__name__}.")
    if "=" not in spec:
        dt = _parse_dtype(spec, spec)
        return Policy(dt, dt, dt)
    found: dict[str, np.dtype] = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        if not sep or "=" in value:
            raise ValueError(
                f"{_PUBLIC}.parse_policy: malformed part {part!r} in {spec!r}; expected "
                f"comma-separated key=dtype pairs such as 'p=f32,c=bf16,o=f32'."
            )
        field = _KEYS.get(key.strip().lower())
        if field is None:
            raise ValueError(
                f"{_PUBLIC}.parse_policy: unknown key {key.strip()!r} in {spec!r}; expected "
                f"'params' (p), 'compute' (c) or 'output' (o)."
            )
        if field in found:
            raise ValueError(
                f"{_PUBLIC}.parse_policy: key {key.strip()!r} given twice in {spec!r}."
            )
        found[field] = _parse_dtype(value, spec)
    param = found.get("param", jnp.dtype(jnp.float32))
    compute = found.get("compute", param)
    output = found.get("output", compute)
    return Policy(param, compute, output)


# --- Registry ----------------------------------------------------------------------------

_POLICIES: dict[type, Any] = {}


class _Current(threading.local):
    def __init__(self) -> None:
        self.stack: list[Any] = []


_CURRENT = _Current()


def _sync_active() -> None:
    # The module system takes its slow path (which applies policies) only while a
    # policy is registered; keep its flag in step with the registry.
    flag = getattr(hk_module, "_MP_ACTIVE", None)
    if flag is not None:
        flag[0] = bool(_POLICIES)


class _NonePolicyError(AssertionError, TypeError):
    """``set_policy`` got ``policy=None`` (``clear_policy`` removes a policy)."""


class _NotAClassError(AttributeError, TypeError):
    """A mixed-precision policy function got a ``cls`` that is not a class."""


def _check_cls(where: str, cls: Any) -> None:
    if not isinstance(cls, type):
        raise _NotAClassError(
            f"{_PUBLIC}.{where}: `cls` must be a module class (e.g. hk.Linear), "
            f"got {type(cls).__name__}: {cls!r}."
        )


def _as_policy(where: str, policy: Any) -> Any:
    if isinstance(policy, str):
        return parse_policy(policy)
    if not all(
        hasattr(policy, a) for a in ("cast_to_param", "cast_to_compute", "cast_to_output")
    ) or not hasattr(policy, "param_dtype"):
        raise TypeError(
            f"{_PUBLIC}.{where}: `policy` must be a Policy (or a jmp.Policy, or a spec "
            f"string such as 'p=f32,c=bf16,o=f32'), got {type(policy).__name__}."
        )
    return policy


def set_policy(cls: type, policy: Policy | str) -> None:
    """Uses ``policy`` for every instance of module class ``cls`` (not its subclasses).

    Args:
      cls: a ``hk.Module`` subclass.
      policy: a :class:`Policy`, a ``jmp.Policy``, or a spec string for
        :func:`parse_policy`.

    Raises:
      AssertionError: (also a ``TypeError``) if ``policy`` is None.
      AttributeError: (also a ``TypeError``) if ``cls`` is not a class.
      TypeError: if ``policy`` is not a policy.

    >>> import haiku_core as hk
    >>> from haiku_core import mixed_precision as mp
    >>> class MyNet(hk.Module):
    ...     pass
    >>> mp.set_policy(MyNet, "p=f32,c=bf16,o=f32")
    >>> str(mp.get_policy(MyNet))
    'p=full,c=bf16,o=full'
    >>> mp.clear_policy(MyNet)
    """
    if policy is None:
        raise _NonePolicyError(
            f"{_PUBLIC}.set_policy: `policy` must not be None; to remove the policy of "
            f"{cls!r} use {_PUBLIC}.clear_policy."
        )
    _check_cls("set_policy", cls)
    _POLICIES[cls] = _as_policy("set_policy", policy)
    _sync_active()


def get_policy(cls: type) -> Policy | None:
    """Returns the policy registered for exactly ``cls``, or ``None``.

    Args:
      cls: a ``hk.Module`` subclass.

    Returns:
      The registered policy or ``None``.

    >>> import haiku_core as hk
    >>> from haiku_core import mixed_precision as mp
    >>> mp.get_policy(hk.Module) is None
    True
    """
    _check_cls("get_policy", cls)
    return _POLICIES.get(cls)


def clear_policy(cls: type) -> None:
    """Removes the policy registered for ``cls`` (no error if there is none).

    Args:
      cls: a ``hk.Module`` subclass.

    >>> import haiku_core as hk
    >>> from haiku_core import mixed_precision as mp
    >>> class MyNet(hk.Module):
    ...     pass
    >>> mp.set_policy(MyNet, "f16")
    >>> mp.clear_policy(MyNet)
    >>> mp.get_policy(MyNet) is None
    True
    """
    _check_cls("clear_policy", cls)
    _POLICIES.pop(cls, None)
    _sync_active()


@contextlib.contextmanager
def push_policy(cls: type, policy: Policy | str) -> Iterator[None]:
    """Context manager: uses ``policy`` for ``cls`` inside the block, then restores.

    The previous policy for ``cls`` (or none) is restored on exit, also on error.

    Raises:
      ValueError: when called from a method of a ``cls`` instance.

    Args:
      cls: a ``hk.Module`` subclass.
      policy: a :class:`Policy`, a ``jmp.Policy``, or a spec string.

    Yields:
      Nothing.

    >>> import haiku_core as hk
    >>> from haiku_core import mixed_precision as mp
    >>> class MyNet(hk.Module):
    ...     pass
    >>> with mp.push_policy(MyNet, "c=bf16"):
    ...     print(mp.get_policy(MyNet))
    p=full,c=bf16,o=bf16
    >>> mp.get_policy(MyNet) is None
    True
    """
    _check_cls("push_policy", cls)
    policy = _as_policy("push_policy", policy)
    frames = base._local.frames
    if frames:
        running = frames[-1].stack[-1][base.MODULE]
        if running is not None and type(running) is cls:
            raise ValueError(
                f"{_PUBLIC}.push_policy: called from a method of {cls.__name__} for the same "
                f"class {cls.__name__}; pushing a policy for the class whose method is running "
                "is not supported. Push it before calling the module (or use set_policy)."
            )
    previous = _POLICIES.get(cls)
    _POLICIES[cls] = policy
    _sync_active()
    try:
        yield
    finally:
        if previous is None:
            _POLICIES.pop(cls, None)
        else:
            _POLICIES[cls] = previous
        _sync_active()


def current_policy() -> Policy | None:
    """The policy of the innermost running module method under a policy, else ``None``.

    Submodules without a policy of their own see their caller's policy.

    Returns:
      The current policy or ``None``.

    >>> from haiku_core import mixed_precision as mp
    >>> mp.current_policy() is None  # not inside a module method under a policy
    True
    """
    stack = _CURRENT.stack
    return stack[-1] if stack else None


# --- Internal hooks for the module system -------------------------------------------------


class _MethodPolicy:
    """The policy of one module method call, as the module wrapper sees it.

    Outside the call's scope (casting the arguments and the result) it is the
    module's own policy. Inside the scope, parameter creation and reads follow the
    *innermost* running policy: when policy-carrying modules nest, each parameter is
    created in, and read as, the dtypes of the module that owns it, however many
    enclosing policies have installed their creators/getters.
    """

    __slots__ = ("active", "policy")

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        self.active = False

    def _effective(self) -> Any:
        if self.active:
            stack = _CURRENT.stack
            if stack:
                return stack[-1]
        return self.policy

    @property
    def param_dtype(self) -> Any:
        return self._effective().param_dtype

    @property
    def compute_dtype(self) -> Any:
        return self._effective().compute_dtype

    @property
    def output_dtype(self) -> Any:
        return self._effective().output_dtype

    def cast_to_param(self, tree: Any) -> Any:
        return self._effective().cast_to_param(tree)

    def cast_to_compute(self, tree: Any) -> Any:
        return self._effective().cast_to_compute(tree)

    def cast_to_output(self, tree: Any) -> Any:
        return self._effective().cast_to_output(tree)


def _policy_for_module(module: Any) -> Any:
    """The policy for ``type(module)``; ``None`` at once when none is registered."""
    if not _POLICIES:
        return None
    policy = _POLICIES.get(type(module))
    return None if policy is None else _MethodPolicy(policy)


def _push_current(policy: Any) -> None:
    """Marks ``policy`` as current (the module wrapper calls this before a method)."""
    if isinstance(policy, _MethodPolicy):
        policy.active = True
        policy = policy.policy
    _CURRENT.stack.append(policy)


def _pop_current() -> None:
    """Undoes the last :func:`_push_current` (call in a ``finally``)."""
    _CURRENT.stack.pop()


@contextlib.contextmanager
def _policy_scope(policy: Any) -> Iterator[None]:
    """``_push_current(policy)`` for the duration of a with-block."""
    method_policy = policy if isinstance(policy, _MethodPolicy) else None
    if method_policy is not None:
        policy = method_policy.policy
        method_policy.active = True
    _CURRENT.stack.append(policy)
    try:
        yield
    finally:
        _CURRENT.stack.pop()
        if method_policy is not None:
            method_policy.active = False


# Public names report the public namespace (reprs, docs, doctest collection).
for _obj in (
    Policy,
    clear_policy,
    current_policy,
    get_policy,
    half_dtype,
    parse_policy,
    push_policy,
    set_policy,
):
    _obj.__module__ = _PUBLIC
del _obj
