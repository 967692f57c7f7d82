"""``hk.Module``: naming, method scoping and method interception.

Naming (checkpoint compatible with dm-haiku 0.0.17):

* default name = class name in snake_case (``Conv2D`` -> ``conv2_d``);
* repeats within one scope get ``_1``, ``_2`` ...; an explicit ``name_<n>`` is used
  verbatim and moves the counter to ``n + 1``;
* a module made in its parent's ``__init__`` is ``parent/~/child``, in ``__call__``
  ``parent/child``, in another method ``m`` ``parent/~m/child``;
* counters restart on every method call, so modules created in ``__call__`` are
  shared between calls.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import pprint
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar, cast, runtime_checkable

import jax

from haiku_core._src import base
from haiku_core._src import config as _config
from haiku_core._src.base import COUNTERS, METHOD, MODULE, ROOT_SCOPE, SCOPE, USED, _local

__all__ = [
    "CallableModule",
    "Deferred",
    "MethodContext",
    "Module",
    "ModuleProtocol",
    "SupportsCall",
    "force_name",
    "intercept_methods",
    "name_like",
    "name_scope",
    "to_module",
    "transparent",
]

T = TypeVar("T")
_M = TypeVar("_M")
_MM = TypeVar("_MM", bound="ModuleMetaclass")

# An explicit number is "_0" or "_<n>" without leading zeros ("x_007" is a plain name).
_NUMBERED = re.compile(r"^(.*)_(0|[1-9]\d*)$")
_VALID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def camel_to_snake(name: str) -> str:
    """``Conv2DTranspose`` -> ``conv2_d_transpose`` (dm-haiku's rule)."""
    # 1) an underscore before every capitalised word ("Xy...") except at the very
    #    start, whatever precedes it ("_Data" -> "__Data", "Foo_Bar" -> "Foo__Bar");
    # 2) an underscore between a lowercase letter or digit and a capital.
    s = _WORD_START.sub("_", name)
    s = _LOWER_UPPER.sub("_", s)
    return s.lower()


_WORD_START = re.compile(r"(?<=.)(?=[A-Z][a-z])")
_LOWER_UPPER = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class _ForcedName(str):
    """A module name that is used verbatim as the full path (see :func:`force_name`)."""

    __slots__ = ()


def force_name(name: str) -> str:
    """Returns a name that makes a new module take exactly the full path ``name``.

    Two modules built with the same forced name share parameters.

    Args:
      name: the full module path, e.g. ``"encoder/~/linear"``.

    Returns:
      A value to pass as ``name=`` to a module constructor.
    """
    return _ForcedName(name)


def _split_numbered(name: str) -> tuple[str, int | None]:
    m = _NUMBERED.match(name)
    if m is None:
        return name, None
    return m.group(1), int(m.group(2))


_CLASS_NAMES: dict[type, tuple[str, int | None]] = {}
_NAME_CACHE: dict[str, tuple[str, int | None]] = {}


def _child_prefix(entry: list) -> str:
    module = entry[MODULE]
    scope = entry[SCOPE]
    if module is None and scope == ROOT_SCOPE:
        return ""
    method = entry[METHOD]
    if method == "__call__":
        return scope + "/"
    if method == "__init__":
        return scope + "/~/"
    return f"{scope}/~{method}/"


def _unique_name(parent: list, base_name: str, n: int | None) -> str:
    """Picks the unique full name for a child called ``base_name`` of ``parent``."""
    prefix = _child_prefix(parent)
    counters: dict[str, int] | None = parent[COUNTERS]
    if counters is None:
        counters = parent[COUNTERS] = {}
        parent[USED] = set()
    if n is not None:
        nxt = counters.get(base_name, 0)
        counters[base_name] = n + 1 if n + 1 > nxt else nxt
        full = f"{prefix}{base_name}_{n}"
    else:
        n = counters.get(base_name, 0)
        counters[base_name] = n + 1
        full = f"{prefix}{base_name}_{n}" if n else prefix + base_name
    used = parent[USED]
    if full in used:
        raise ValueError(
            f"haiku_core.Module: module name '{full}' is not unique: a module with this "
            "explicitly numbered name was "
            "already created in the same scope. Use a different name."
        )
    used.add(full)
    return full


def _parent_of_init(frame: base.Frame, module: Any) -> list:
    stack = frame.stack
    # stack[-1] is [module, "__init__"] pushed by the metaclass.
    if len(stack) >= 2 and stack[-1][MODULE] is module:
        parent = stack[-2]
    else:
        parent = stack[-1]
    if parent[MODULE] is not None and parent[SCOPE] is None:
        raise ValueError(
            f"haiku_core.Module: {type(parent[MODULE]).__name__} created a submodule before calling "
            "`super().__init__(name=name)`. Call `super().__init__` first in `__init__`."
        )
    return parent


# ----------------------------------------------------------------------------- interception


class MethodContext(NamedTuple):
    """Describes an intercepted module method call.

    Attributes:
      module: the module instance.
      method_name: name of the method being called (e.g. ``"__call__"``).
      orig_method: the original method bound to ``module`` (calls it without scoping).
      orig_class: the class that defined the method.
    """

    module: Module
    method_name: str
    orig_method: Callable[..., Any]
    orig_class: type


@contextlib.contextmanager
def intercept_methods(
    interceptor: Callable[
        [Callable[..., Any], tuple[Any, ...], dict[str, Any], MethodContext], Any
    ],
) -> Iterator[None]:
    """Registers ``interceptor`` around every module method call in the block.

    The interceptor is called as ``interceptor(next_fun, args, kwargs, context)`` and
    must call ``next_fun(*args, **kwargs)`` to run the method (or not).

    Args:
      interceptor: the interceptor function.

    Example:
      >>> def log(next_f, args, kwargs, ctx):
      ...     print(ctx.module.module_name, ctx.method_name)
      ...     return next_f(*args, **kwargs)
    """
    stack = _local.interceptors
    stack.append(interceptor)
    try:
        yield
    finally:
        stack.remove(interceptor)


def _mixed_precision():
    return sys.modules.get("haiku_core._src.mixed_precision")


def _run_method(module, method_name, method, args, kwargs, owner_cls, scoped_name):
    """Slow path of a module method call: interceptors and mixed precision.

    The module's scope is entered first, so interceptors (and anything they open,
    e.g. a name scope) run inside it, then the policy and the method itself.
    """
    frames = _local.frames
    if not frames or scoped_name is None:
        return _intercepted(module, method_name, method, args, kwargs, owner_cls)
    stack = frames[-1].stack
    stack.append([module, scoped_name, module._hk_name, None, None])
    try:
        out = _intercepted(module, method_name, method, args, kwargs, owner_cls)
    finally:
        stack.pop()
    if len(stack) > 1:
        _notify_parents(stack, module)
    return out


def _intercepted(module, method_name, method, args, kwargs, owner_cls):
    """Runs ``method`` through the mixed precision policy and the interceptors."""
    interceptors = _local.interceptors
    mp = _mixed_precision()
    policy = mp._policy_for_module(module) if mp is not None else None

    def run(*a, **k):
        if policy is not None:
            a, k = policy.cast_to_compute((a, k))
            with cast(Any, mp)._policy_scope(policy) if hasattr(mp, "_policy_scope") else _null():
                with _policy_getter(policy):
                    out = method(module, *a, **k)
            return policy.cast_to_output(out)
        return method(module, *a, **k)

    if not interceptors:
        return run(*args, **kwargs)
    ctx = MethodContext(
        module=module,
        method_name=method_name,
        orig_method=functools.partial(method, module),
        orig_class=owner_cls,
    )
    return _run_chain(list(interceptors), run, args, kwargs, ctx)


def _run_chain(chain: list, run: Callable, args: tuple, kwargs: dict, ctx: MethodContext) -> Any:
    """Runs method interceptors; the first installed (outermost ``with``) runs first."""
    n = len(chain)

    def call(i, *a, **k):
        if i == n:
            return run(*a, **k)
        return chain[i](lambda *aa, **kk: call(i + 1, *aa, **kk), a, k, ctx)

    return call(0, *args, **kwargs)


def _notify_parents(stack: list, module: Any) -> None:
    """Records ``module`` as a submodule of every module whose method is running."""
    name = module._hk_name
    if name is None:
        return
    for entry in stack:
        parent = entry[MODULE]
        if parent is not None and parent is not module:
            subs = parent.__dict__.get("_submodules")
            if subs is None:
                subs = parent.__dict__["_submodules"] = set()
            subs.add(name)


@contextlib.contextmanager
def _null():
    yield


@contextlib.contextmanager
def _policy_getter(policy):
    """Params are created in param dtype and handed to the module in compute dtype."""
    frames = _local.frames
    if not frames:
        yield
        return
    frame = frames[-1]

    def creator(next_creator, shape, dtype, init, ctx):
        del dtype
        return next_creator(shape, policy.param_dtype, init)

    def getter(next_getter, value, ctx):
        return policy.cast_to_compute(next_getter(value))

    frame.creators.append(creator)
    frame.getters.append(getter)
    frame.refresh_fast()
    try:
        yield
    finally:
        frame.creators.remove(creator)
        frame.getters.remove(getter)
        frame.refresh_fast()


def _wrap_method(method_name: str, method: Callable, owner: list) -> Callable:
    if getattr(method, "_hk_transparent", False):
        scoped_name = None
    else:
        scoped_name = getattr(method, "_hk_name_like", method_name)

    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        if _local.interceptors or _MP_ACTIVE[0]:
            return _run_method(self, method_name, method, args, kwargs, owner[0], scoped_name)
        frames = _local.frames
        if not frames:
            return method(self, *args, **kwargs)
        stack = frames[-1].stack
        if scoped_name is None:
            return method(self, *args, **kwargs)
        stack.append([self, scoped_name, self._hk_name, None, None])
        try:
            out = method(self, *args, **kwargs)
        finally:
            stack.pop()
        if len(stack) > 1:
            _notify_parents(stack, self)
        return out

    wrapped._hk_wrapped = True  # type: ignore[attr-defined]
    return wrapped


# Set to [True] by haiku_core._src.mixed_precision when any policy is registered.
_MP_ACTIVE = [False]


def set_mixed_precision_active(active: bool) -> None:
    """Hook for the mixed precision registry: turns the policy check on/off."""
    _MP_ACTIVE[0] = bool(active)


_SKIP = frozenset({"__init__", "__new__", "__init_subclass__", "__repr__", "__getattr__"})


# Deriving from Protocol's metaclass (itself an ABCMeta) lets a module class also
# list a ``typing.Protocol`` among its bases without a metaclass conflict.
if TYPE_CHECKING:
    from abc import ABCMeta as _ProtocolMeta
else:
    _ProtocolMeta = type(Protocol)


class ModuleMetaclass(_ProtocolMeta):
    """Wraps module methods so they run in the module's scope."""

    def __new__(
        mcs: type[_MM], name: str, bases: tuple[type, ...], clsdict: dict[str, Any], **kwargs: Any
    ) -> _MM:
        owner: list = [None]
        # Module classes are concrete classes even when a Protocol is among their
        # bases; this keeps isinstance() on them an ordinary class check.
        clsdict.setdefault("_is_protocol", False)
        if clsdict.get("__module__") == __name__ and name == "Module":
            # The base class's own helpers (params_dict, ...) are not scoped methods.
            cls = super().__new__(mcs, name, bases, clsdict, **kwargs)
            return cls
        for key, value in list(clsdict.items()):
            if key in _SKIP or (key.startswith("__") and key != "__call__"):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                continue
            if isinstance(value, property):
                fget = value.fget and _wrap_method(key, value.fget, owner)
                fset = value.fset and _wrap_method(key, value.fset, owner)
                clsdict[key] = property(fget, fset, value.fdel, value.__doc__)
                continue
            if inspect.isfunction(value) and not getattr(value, "_hk_wrapped", False):
                clsdict[key] = _wrap_method(key, value, owner)
        cls = super().__new__(mcs, name, bases, clsdict, **kwargs)
        owner[0] = cls
        return cls

    @property
    def __signature__(cls) -> inspect.Signature:
        """``inspect.signature(hk.Linear)`` shows ``__init__``'s parameters, not ``(*args, **kwargs)``."""
        try:
            sig = inspect.signature(cls.__init__, eval_str=True)
        except Exception:  # an annotation that cannot be evaluated here
            sig = inspect.signature(cls.__init__)
        return sig.replace(parameters=list(sig.parameters.values())[1:])

    def __call__(cls: type[_M], *args: Any, **kwargs: Any) -> _M:
        frames = _local.frames
        if not frames:
            raise ValueError(
                "haiku_core.Module: All `hk.Module`s must be created inside a function transformed "
                f"with `hk.transform`: {cls.__name__}(...) was called outside any transform. Build "
                "modules inside a function `f` and call `hk.transform(f).init/apply`."
            )
        module: Any = cls.__new__(cls, *args, **kwargs)  # type: ignore[misc]
        # Whether the repr shows the constructor call is decided at construction.
        auto_repr = _config.tls.config.module_auto_repr and getattr(module, "AUTO_REPR", True)
        object.__setattr__(module, "_hk_ctor", (args, kwargs) if auto_repr else None)
        stack = frames[-1].stack
        init = cls.__init__
        entry = [module, getattr(init, "_hk_name_like", "__init__"), None, None, None]
        stack.append(entry)
        try:
            if _local.interceptors or _MP_ACTIVE[0]:
                # Constructors go through interceptors and mixed precision like methods;
                # the context's class is the one being constructed.
                _intercepted(module, "__init__", init, args, kwargs, cls)
            else:
                init(module, *args, **kwargs)
        finally:
            stack.pop()
        if getattr(module, "_hk_name", None) is None:
            raise ValueError(
                f"haiku_core.Module: {cls.__name__}.__init__ did not call "
                "`super().__init__(name=name)`; every "
                "hk.Module subclass must call it."
            )
        if len(stack) > 1:
            _notify_parents(stack, module)
        return module


class Module(metaclass=ModuleMetaclass):
    """Base class for modules: objects whose methods create named params and state.

    Subclass it, call ``super().__init__(name=name)`` first in ``__init__``, and
    create parameters with ``hk.get_parameter`` inside methods. Modules can only be
    built inside a function passed to ``hk.transform``.

    Example:
      >>> class Scale(Module):
      ...     def __call__(self, x):
      ...         s = base.get_parameter("s", x.shape[-1:], init=jax.numpy.ones)
      ...         return x * s
    """

    _hk_name: str | None = None

    def __init__(self, name: str | None = None):
        """Names the module (see the module docstring for the rules).

        Args:
          name: base name; defaults to the class name in snake_case.

        Raises:
          ValueError: outside a transform, for an invalid name, or for an explicitly
            numbered name used twice in one scope.
        """
        frames = _local.frames
        if not frames:
            raise ValueError(
                "haiku_core.Module: All `hk.Module`s must be created inside a function transformed "
                f"with `hk.transform`: {type(self).__name__} was created outside any transform."
            )
        stack = frames[-1].stack
        top = stack[-1]
        if type(name) is _ForcedName:
            full = str(name)
            _reserve_forced(stack[-2] if top[MODULE] is self else top, full)
        else:
            if top[MODULE] is self:
                parent = stack[-2]
                if parent[SCOPE] is None:
                    _parent_of_init(frames[-1], self)  # raises a helpful error
            else:
                parent = top
            if name is None:
                cached = _CLASS_NAMES.get(type(self))
                if cached is None:
                    cached = _split_numbered(camel_to_snake(type(self).__name__))
                    _CLASS_NAMES[type(self)] = cached
            else:
                cached = _NAME_CACHE.get(name) if type(name) is str else None
                if cached is None:
                    if not isinstance(name, str) or not _VALID.match(name):
                        raise ValueError(
                            f"haiku_core.Module: invalid module name {name!r} for "
                            f"{type(self).__name__}; a name must "
                            "be a valid Python identifier (letters, digits, underscores), "
                            "without '/' or '~'."
                        )
                    cached = _NAME_CACHE[name] = _split_numbered(name)
            full = _unique_name(parent, cached[0], cached[1])
        self._hk_name = full
        if "_submodules" not in self.__dict__:
            self._submodules: set[str] = set()
        if top[MODULE] is self:
            top[SCOPE] = full

    def __post_init__(self) -> None:
        """Names a ``@dataclasses.dataclass`` module after its generated ``__init__``.

        The dataclass field ``name`` (when the class declares one) is used as the
        module name; afterwards it holds the last component of :attr:`module_name`.
        """
        if self._hk_name is not None:
            return
        requested = self.__dict__.get("name")
        Module.__init__(self, name=requested)
        if not isinstance(type(self).__dict__.get("name", None), property):
            # A dataclass field shadows the ``name`` property: keep the field in step.
            short_name = cast(str, self._hk_name).rsplit("/", 1)[-1]
            cast("dict[str, Any]", self.__dict__)["name"] = short_name

    @property
    def module_name(self) -> str:
        """The full path of this module, e.g. ``"mlp/~/linear_0"``."""
        return self._hk_name  # type: ignore[return-value]

    @property
    def name(self) -> str:
        """The last component of :attr:`module_name`."""
        return self._hk_name.rsplit("/", 1)[-1]  # type: ignore[union-attr]

    def params_dict(self) -> Mapping[str, jax.Array]:
        """Params of this module and its submodules, flat: ``{"path/name": array}``.

        Raises:
          ValueError: outside a transform.
        """
        return _owned(
            base.frame_or_raise("haiku_core.Module.params_dict").params,
            self._hk_name,
            self.__dict__.get("_submodules", ()),
        )

    def state_dict(self) -> Mapping[str, jax.Array]:
        """State of this module and its submodules, flat: ``{"path/name": array}``.

        Raises:
          ValueError: outside a transform.
        """
        return _owned(
            base.frame_or_raise("haiku_core.Module.state_dict").state,
            self._hk_name,
            self.__dict__.get("_submodules", ()),
        )

    def __repr__(self) -> str:
        ctor = self.__dict__.get("_hk_ctor", ((), {}))
        if ctor is None:
            return object.__repr__(self)
        return _constructor_repr(type(self), ctor[0], ctor[1])


_REPR_WIDTH = 80
_POSITIONAL_KINDS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _equal_or_false(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # arrays with several elements, odd __eq__ implementations
        return False


def _constructor_repr(cls: type, args: tuple, kwargs: dict) -> str:
    """Formats ``cls(*args, **kwargs)`` the way dm-haiku's module repr does.

    Positional-or-keyword parameters that were given are shown as ``name=value`` in
    signature order, except those equal to their default; then extra positional
    values bare; then every other keyword (keyword-only ones included, even at
    their default) in the order given. Above 80 characters the arguments go one
    per line, pretty-printed and indented by four spaces.
    """
    try:
        sig = inspect.signature(cls.__init__, follow_wrapped=False)
        params = list(sig.parameters.values())
        bound = sig.bind(None, *args, **kwargs).arguments
    except (TypeError, ValueError):
        entries = [("", a) for a in args] + [(k + "=", v) for k, v in kwargs.items()]
    else:
        positional = [p for p in params if p.kind in _POSITIONAL_KINDS][1:]
        names = [p.name for p in positional]
        shown = names[: len(args)] + [n for n in names if n in kwargs]
        defaults = {p.name: p.default for p in positional if p.default is not p.empty}
        entries = [
            (n + "=", bound[n])
            for n in shown
            if not (n in defaults and _equal_or_false(bound[n], defaults[n]))
        ]
        entries.extend(("", a) for a in args[len(names) :])
        entries.extend((k + "=", v) for k, v in kwargs.items() if k not in names)
    one_line = f"{cls.__name__}({', '.join(label + repr(v) for label, v in entries)})"
    if len(one_line) <= _REPR_WIDTH:
        return one_line
    lines = ",\n".join(_pretty_entry(label, v) for label, v in entries)
    return f"{cls.__name__}(\n{_indent(4, lines)},\n)"


def _pretty_entry(label: str, value: Any) -> str:
    try:
        text = pprint.pformat(value)
    except TypeError:  # objects whose pretty-printing fails still have a repr
        text = repr(value)
    if label:
        text = _indent(len(label), text).strip()
    return label + text


def _indent(amount: int, text: str) -> str:
    pad = " " * amount
    return "\n".join(pad + line for line in text.splitlines())


def _owned(store: Any, name: str | None, used: Any = ()) -> dict:
    """Entries of modules under ``name`` and of the modules in ``used`` (its callees)."""
    out = {}
    if not store or name is None:
        return out
    prefix = name + "/"
    for mod, bundle in store.items():
        if mod == name or mod.startswith(prefix) or mod in used:
            for k, v in bundle.items():
                out[f"{mod}/{k}"] = v
    return out


def transparent(method: T) -> T:
    """Method decorator: what the method creates is named as if made by its caller.

    Args:
      method: a module method.

    Returns:
      The same method, marked transparent.
    """
    method._hk_transparent = True  # type: ignore[attr-defined]
    return method


def name_like(method_name: str) -> Callable[[T], T]:
    """Method decorator: creations are named as if made inside ``method_name``.

    Args:
      method_name: e.g. ``"__call__"``.

    Returns:
      A decorator.
    """

    def decorator(method: T) -> T:
        method._hk_name_like = method_name  # type: ignore[attr-defined]
        return method

    return decorator


# ----------------------------------------------------------------------------- name scope


class _NameScope:
    """Context manager returned by :func:`name_scope` (single use)."""

    def __init__(self, name: str, method_name: str) -> None:
        frame = base.frame_or_raise("haiku_core.name_scope")
        if not isinstance(name, str) or not name or name.startswith("/"):
            raise ValueError(
                f"haiku_core.name_scope: invalid scope name {name!r}: it must be a non-empty string "
                "that does not start with '/'."
            )
        if type(name) is _ForcedName:
            full = str(name)
            _reserve_forced(frame.stack[-1], full)
        else:
            if name.endswith("/"):
                raise ValueError(
                    f"haiku_core.name_scope: invalid scope name {name!r}: it must not end with '/'."
                )
            parent = frame.stack[-1]
            full = ""
            for part in name.split("/"):
                if not _VALID.match(part):
                    raise ValueError(
                        f"haiku_core.name_scope: invalid scope name {name!r}: component {part!r} "
                        "must be a valid Python identifier."
                    )
                base_name, n = _split_numbered(part)
                full = _unique_name(parent, base_name, n)
                parent = [None, method_name, full, None, None]
        self._frame = frame
        self._full = full
        self._method = method_name
        self._state = "new"

    def __enter__(self) -> None:
        if self._state == "entered":
            raise ValueError(
                f"haiku_core.name_scope: scope {self._full!r} is already active; a name scope cannot be "
                "entered again while it is active."
            )
        if self._state == "done":
            raise ValueError(
                f"haiku_core.name_scope: scope {self._full!r} was already used; a name scope is not "
                "reusable. Create a new one with hk.name_scope(...)."
            )
        self._state = "entered"
        self._frame.stack.append([None, self._method, self._full, None, None])

    def __exit__(self, *exc: Any) -> None:
        self._state = "done"
        self._frame.stack.pop()


def name_scope(
    name: str, *, method_name: str = "__call__"
) -> contextlib.AbstractContextManager[None]:
    """Prefixes the names of modules/params/state created in the block with ``name/``.

    The scope behaves like an anonymous module called ``name`` (so using the same
    scope name twice in one place gives ``name`` and ``name_1``). ``"a/b"`` nests.
    A name made by :func:`force_name` is used verbatim as the full scope path. The
    name is claimed when ``name_scope`` is called; the returned context manager can
    be entered once.

    Args:
      name: the scope name; ``/`` separates nested scopes.
      method_name: method name used when naming modules created in the scope.

    Returns:
      A single-use context manager.

    Raises:
      ValueError: outside a transform, or for an empty/invalid name.
    """
    return _NameScope(name, method_name)


def _reserve_forced(parent: list, full: str) -> None:
    """Claims a forced full name among ``parent``'s children when it is one of them."""
    prefix = _child_prefix(parent)
    if not full.startswith(prefix):
        return
    rest = full[len(prefix) :]
    if not rest or "/" in rest:
        return
    counters = parent[COUNTERS]
    if counters is None:
        counters = parent[COUNTERS] = {}
        parent[USED] = set()
    base_name, n = _split_numbered(rest)
    n = 0 if n is None else n
    if counters.get(base_name, 0) < n + 1:
        counters[base_name] = n + 1
    parent[USED].add(full)


# ----------------------------------------------------------------------------- helpers


class _ProtocolOnly(Protocol):
    """Base of protocols that concrete classes must not inherit from.

    A class deriving from such a protocol must list ``Protocol`` among its own bases
    (i.e. be a protocol itself); concrete classes satisfy the protocol structurally.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if Protocol not in cls.__bases__:
            bases = ", ".join(b.__name__ for b in cls.__bases__)
            raise TypeError(
                f"haiku_core.ModuleProtocol: {cls.__name__} derives from a haiku_core protocol "
                f"({bases}) without being a "
                "Protocol itself. Protocols are matched structurally, so implement the "
                "methods instead; to define a new protocol, also derive from Protocol: "
                f"`class {cls.__name__}({bases}, Protocol)`."
            )


@runtime_checkable
class ModuleProtocol(_ProtocolOnly, Protocol):
    """Protocol for module-like objects (anything with ``params_dict``/``state_dict``)."""

    def params_dict(self) -> Mapping[str, jax.Array]:
        """Params of the module and its submodules, flat: ``{"path/name": array}``."""
        ...

    def state_dict(self) -> Mapping[str, jax.Array]:
        """State of the module and its submodules, flat: ``{"path/name": array}``."""
        ...


@runtime_checkable
class SupportsCall(ModuleProtocol, Protocol):
    """Protocol for callable module-like objects."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the module."""
        ...


class CallableModule(Module):
    """Base of classes made by :func:`to_module`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


def to_module(f: Callable[..., Any]) -> type[CallableModule]:
    """Wraps a function into a Module subclass whose ``__call__`` runs ``f``.

    Args:
      f: a function (may call get_parameter, other modules ...).

    Returns:
      A Module subclass; instances take an optional ``name`` (default: the
      function's ``__name__``) and calling them runs ``f``.

    Example:
      >>> def bias_fn(x):
      ...     return x + hk.get_parameter("b", x.shape[-1:], init=jnp.ones)
      >>> Bias = hk.to_module(bias_fn)
      >>> f = hk.transform(lambda x: Bias(name="bias")(x))
      >>> params = f.init(jax.random.PRNGKey(0), jnp.zeros([3]))
      >>> jax.tree_util.tree_map(jnp.shape, params)
      {'bias': {'b': (3,)}}
      >>> f.apply(params, None, jnp.zeros([3])).tolist()
      [1.0, 1.0, 1.0]
    """

    class ToModuleWrapper(CallableModule):
        """Module produced by `hk.to_module`."""

        def __init__(self, name: str | None = None):
            if name is None:
                name = f.__name__
            elif not isinstance(name, str):
                raise TypeError(
                    "haiku_core.to_module: expected a string name as the constructor's first "
                    f"argument, got: {name} (module class made from "
                    f"{getattr(f, '__name__', f)!r}). hk.to_module returns a "
                    "class; build an instance first (`mod = cls(); out = mod(x)`)."
                )
            super().__init__(name=name)

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return f(*args, **kwargs)

    if getattr(f, "__doc__", None):
        ToModuleWrapper.__doc__ = f.__doc__
    call = ToModuleWrapper.__dict__["__call__"]
    functools.update_wrapper(call, f)
    call._hk_wrapped = True  # type: ignore[attr-defined]
    return ToModuleWrapper


class Deferred:
    """Builds a module on first use, named as if built where the Deferred was made.

    The factory runs the first time ``__call__`` (or another of ``call_methods``)
    is used or :attr:`target` is read. When the ``Deferred`` was constructed inside
    a module or name scope, the target is built (and named) in that scope;
    otherwise in the scope of its first use. Once built, attribute reads, writes and
    deletes are forwarded to the target.

    Example:
      >>> def f(x):
      ...     d = hk.Deferred(lambda: hk.Linear(3))  # nothing built yet
      ...     return d(x)  # builds the Linear, then calls it
      >>> params = hk.transform(f).init(jax.random.PRNGKey(0), jnp.ones([1, 2]))
      >>> jax.tree_util.tree_map(jnp.shape, params)
      {'linear': {'b': (3,), 'w': (2, 3)}}
    """

    def __init__(self, factory: Callable[[], T], call_methods: Sequence[str] = ("__call__",)):
        """Stores the factory; nothing is built yet.

        Args:
          factory: builds the target module (called once, without arguments).
          call_methods: method names whose first call builds the target and then
            calls the same method on it (``__call__`` is always forwarded).
        """
        self._factory: Callable[[], Any] | None = factory
        frames = _local.frames
        # Made inside a module or name scope: the target is named as if built there.
        # Made at the top level: it is named where it is first used.
        if frames and len(frames[-1].stack) > 1:
            self._hk_scope = (frames[-1], tuple(frames[-1].stack))
        else:
            self._hk_scope = None
        for method_name in call_methods:
            if method_name == "__call__":
                continue  # special methods are looked up on the type; see __call__
            setattr(self, method_name, _build_then_call(self, method_name))
        self._target = None

    @property
    def target(self) -> Any:
        """The built module (the factory runs on first access)."""
        if self._target is None:
            saved = self.__dict__.get("_hk_scope")
            frames = _local.frames
            if saved is not None and frames and frames[-1] is saved[0]:
                frame = frames[-1]
                current = frame.stack
                frame.stack = list(saved[1])
                try:
                    target = cast("Callable[[], Any]", self._factory)()
                finally:
                    frame.stack = current
            else:
                target = cast("Callable[[], Any]", self._factory)()
            self._factory = None
            self._target = target
        return self._target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.target(*args, **kwargs)

    def __str__(self) -> str:
        return f"Deferred({self.target})"

    def __repr__(self) -> str:
        return f"Deferred({self.target!r})"

    def __getattr__(self, name: str) -> Any:
        target = self.__dict__.get("_target")
        if name != "_target" and target is not None:
            return getattr(target, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        target = self.__dict__.get("_target")
        if name != "_target" and target is not None:
            setattr(target, name, value)
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        target = self.__dict__.get("_target")
        if name != "_target" and target is not None:
            delattr(target, name)
        else:
            object.__delattr__(self, name)


def _build_then_call(deferred: Deferred, method_name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(deferred.target, method_name)(*args, **kwargs)

    return call


from haiku_core._src.utils import set_public_module  # noqa: E402

set_public_module(globals(), __all__, "haiku_core")
