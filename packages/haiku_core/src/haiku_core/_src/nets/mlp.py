"""Multi-layer perceptron."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

import jax

from haiku_core._src import base, basic
from haiku_core._src import module as hk_module
from haiku_core._src.errors import module_prefix
from haiku_core._src.typing import Initializer

__all__ = ["MLP"]


def _explicit_only(**kwargs: Any) -> dict[str, Any]:
    # Drops arguments left at their constructor defaults, so a child's auto-repr
    # only lists what was actually chosen (e.g. ``Linear(output_size=3, name=...)``).
    defaults = {"with_bias": True, "w_init": None, "b_init": None}
    return {k: v for k, v in kwargs.items() if k not in defaults or v is not defaults[k]}


class MLP(hk_module.Module):
    """A stack of :class:`~haiku_core.Linear` layers with an activation in between.

    The layers are created in ``__init__`` and named ``linear_0`` ...
    ``linear_{n-1}``, so their paths are ``<name>/~/linear_i``. The activation
    follows every layer but the last (and the last too with ``activate_final``).

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.nets.MLP([4, 3])(x))
    >>> params = f.init(jax.random.PRNGKey(0), jnp.ones([2, 5]))
    >>> list(params)
    ['mlp/~/linear_0', 'mlp/~/linear_1']
    """

    def __init__(
        self,
        output_sizes: Iterable[int],
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        with_bias: bool = True,
        activation: Callable[[jax.Array], jax.Array] = jax.nn.relu,
        activate_final: bool = False,
        name: str | None = None,
    ):
        """Creates the layers.

        Args:
          output_sizes: output size of each layer, e.g. ``[64, 64, 10]``.
          w_init: initializer for every ``w`` (default: the Linear default).
          b_init: initializer for every ``b``; only with ``with_bias``.
          with_bias: give every layer a bias.
          activation: applied between layers.
          activate_final: also apply the activation (and dropout) after the last layer.
          name: module name; defaults to ``mlp``.

        Raises:
          ValueError: if ``b_init`` is given with ``with_bias=False``.
        """
        if b_init is not None and not with_bias:
            raise ValueError(
                "haiku_core.nets.MLP: `b_init` was given but `with_bias=False`, so the "
                "layers have no bias to initialise; drop `b_init` or set `with_bias=True`."
            )
        super().__init__(name=name)
        self.with_bias = with_bias
        self.w_init = w_init
        self.b_init = b_init
        self.activation = activation
        self.activate_final = activate_final
        output_sizes = tuple(output_sizes)
        self.layers: tuple[basic.Linear, ...] = tuple(
            basic.Linear(
                **_explicit_only(
                    output_size=size,
                    with_bias=with_bias,
                    w_init=w_init,
                    b_init=b_init,
                    name=f"linear_{i}",
                )
            )
            for i, size in enumerate(output_sizes)
        )
        self.output_size: int | None = output_sizes[-1] if output_sizes else None

    def __call__(
        self, inputs: jax.Array, dropout_rate: float | None = None, rng: jax.Array | None = None
    ) -> jax.Array:
        """Applies the MLP.

        Args:
          inputs: ``[..., D]`` input.
          dropout_rate: if given, dropout with this rate is applied after every
            activated layer (before the activation); requires ``rng``.
          rng: PRNG key for dropout; only with ``dropout_rate``.

        Returns:
          ``[..., output_sizes[-1]]``.

        Raises:
          ValueError: if exactly one of ``dropout_rate`` / ``rng`` is given.
        """
        owner = module_prefix(self)
        if (dropout_rate is None) != (rng is None):
            given, missing = ("dropout_rate", "rng") if rng is None else ("rng", "dropout_rate")
            raise ValueError(
                f"{owner}: dropout needs both `dropout_rate` and an `rng` key, or neither; "
                f"got `{given}` without `{missing}`."
            )
        rngs = base.PRNGSequence(rng) if rng is not None else None
        num_layers = len(self.layers)
        out = inputs
        for i, layer in enumerate(self.layers):
            out = layer(out)
            if i < num_layers - 1 or self.activate_final:
                if dropout_rate is not None and rngs is not None:
                    out = basic.dropout(next(rngs), dropout_rate, out)
                out = self.activation(out)
        return out

    def reverse(self, activate_final: bool | None = None, name: str | None = None) -> MLP:
        """Returns an MLP mirroring this one (layer input sizes become output sizes).

        The MLP must have been called first (the input sizes are only known then).

        Args:
          activate_final: for the new MLP (default: same as this one).
          name: for the new MLP (default: ``<name>_reversed``).

        Returns:
          A new :class:`MLP` whose i-th layer maps back to the input size of this
          MLP's ``(n-1-i)``-th layer.

        Raises:
          ValueError: if this MLP has not been called yet.
        """
        if activate_final is None:
            activate_final = self.activate_final
        if name is None:
            name = self.name + "_reversed"
        seen = [getattr(layer, "input_size", None) for layer in self.layers]
        if any(size is None for size in seen):
            raise ValueError(
                f"{module_prefix(self)}: reverse() needs each layer's "
                "input size, which is only known after the MLP has been applied once; call "
                "it on an input first."
            )
        options: dict[str, Any] = {
            "w_init": self.w_init,
            "b_init": self.b_init,
            "with_bias": self.with_bias,
            "activation": self.activation,
            "activate_final": activate_final,
        }
        defaults = {
            "w_init": None,
            "b_init": None,
            "with_bias": True,
            "activation": jax.nn.relu,
            "activate_final": False,
        }
        chosen = {k: v for k, v in options.items() if v is not defaults[k]}
        return MLP(
            output_sizes=tuple(int(cast(int, s)) for s in reversed(seen)), name=name, **chosen
        )


# Public objects report their public home (reprs, docs, pickling).
for _obj in (MLP,):
    _obj.__module__ = "haiku_core.nets"
del _obj
