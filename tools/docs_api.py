"""API reference pages for the documentation site, generated at build time.

``docs/conf.py`` calls :func:`write_pages` before Sphinx reads the sources. The page layout
(which family each public name belongs to, in which order, with which introduction) lives in
:data:`SECTIONS` below; everything else is read from the installed packages:

* a ``names`` entry lists top-level names of the package (``haiku_core.Linear``);
* a ``module`` entry documents every name in that sub-namespace's ``__all__`` (so names that
  land in ``haiku_core.sharding`` or ``rlax_core.batched`` appear without editing this file).

A name whose object is also a top-level name documented on another page (for example
``haiku_core.experimental.lift`` is ``haiku_core.lift``) gets a short alias entry that links to
the full one; an object defined outside our packages (``haiku_core.typing.PRNGKey`` is
``jax.Array``) gets an alias entry naming it. Names that no entry covers are not added
silently: ``docs/tests/test_api_coverage.py`` lists them, so a new public name fails the docs
tests until it is given a family here.

Run ``python tools/docs_api.py OUTDIR`` to write the pages somewhere and look at them.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

#: Where the generated pages go, relative to ``docs/`` (ignored by git).
GENERATED_DIR = "api"


@dataclass(frozen=True)
class Page:
    """One API page: a title, an introduction and its entries.

    Attributes:
        slug: file name without ``.md``.
        title: page title.
        intro: MyST text shown under the title.
        names: top-level names of the package, documented in this order.
        modules: sub-namespaces whose ``__all__`` is documented in full, in this order.
    """

    slug: str
    title: str
    intro: str
    names: Sequence[str] = ()
    modules: Sequence[str] = ()


@dataclass(frozen=True)
class Section:
    """The API reference of one package.

    Attributes:
        package: import name (``haiku_core``).
        alias: the conventional short name used in the text (``hk``).
        title: title of the section's API index page.
        pages: the family pages, in toctree order.
        extra_public: public top-level names that are not in ``__all__`` (kept out of it
            to match upstream) but are documented all the same.
    """

    package: str
    alias: str
    title: str
    pages: Sequence[Page]
    extra_public: Sequence[str] = field(default_factory=tuple)


HAIKU = Section(
    package="haiku_core",
    alias="hk",
    title="haiku-core API reference",
    extra_public=("SeparableDepthwiseConv2D",),
    pages=(
        Page(
            "transforms",
            "Transforms",
            "Turn a function that uses modules into a pair of pure functions "
            "`init` / `apply`, and the containers those functions come in.",
            names=(
                "transform",
                "transform_with_state",
                "multi_transform",
                "multi_transform_with_state",
                "without_apply_rng",
                "without_state",
                "with_empty_state",
                "running_init",
                "Transformed",
                "TransformedWithState",
                "MultiTransformed",
                "MultiTransformedWithState",
            ),
        ),
        Page(
            "modules",
            "Modules, parameters, state and randomness",
            "The module base class and naming, and the functions a module calls inside a "
            "transform to create parameters and state and to draw random keys.",
            names=(
                "Module",
                "ModuleProtocol",
                "SupportsCall",
                "to_module",
                "transparent",
                "Deferred",
                "name_scope",
                "current_name",
                "force_name",
                "name_like",
                "intercept_methods",
                "MethodContext",
                "get_parameter",
                "get_state",
                "set_state",
                "get_params",
                "get_current_state",
                "get_initial_state",
                "custom_creator",
                "custom_getter",
                "custom_setter",
                "GetterContext",
                "SetterContext",
                "DO_NOT_STORE",
                "next_rng_key",
                "next_rng_keys",
                "maybe_next_rng_key",
                "reserve_rng_keys",
                "with_rng",
                "PRNGSequence",
                "maybe_get_rng_sequence_state",
                "replace_rng_sequence_state",
                "Params",
                "State",
                "MutableParams",
                "MutableState",
            ),
        ),
        Page(
            "jax_wrappers",
            "JAX transforms inside modules, lifting, layer stacks",
            "Versions of `jax.grad`, `jax.vmap`, `jax.lax.scan` and friends that may be used "
            "inside a transformed function (they carry parameters, state and RNG through), "
            "lifting of an inner transform into an outer one, and `layer_stack`.",
            names=(
                "grad",
                "value_and_grad",
                "vmap",
                "map",
                "scan",
                "fori_loop",
                "while_loop",
                "cond",
                "switch",
                "remat",
                "eval_shape",
                "lift",
                "lift_with_state",
                "transparent_lift",
                "transparent_lift_with_state",
                "LiftWithStateUpdater",
                "layer_stack",
                "LayerStackTransparencyMapping",
                "to_dot",
            ),
        ),
        Page(
            "layers",
            "Layers: linear, convolution, pooling, embedding, reshaping",
            "The basic building blocks. Inputs are batch-first; convolutions default to "
            "channels-last (`NWC`, `NHWC`, `NDHWC`).",
            names=(
                "Linear",
                "Bias",
                "Sequential",
                "BatchApply",
                "expand_apply",
                "dropout",
                "one_hot",
                "multinomial",
                "ConvND",
                "Conv1D",
                "Conv2D",
                "Conv3D",
                "ConvNDTranspose",
                "Conv1DTranspose",
                "Conv2DTranspose",
                "Conv3DTranspose",
                "DepthwiseConv1D",
                "DepthwiseConv2D",
                "DepthwiseConv3D",
                "SeparableDepthwiseConv2D",
                "get_channel_index",
                "AvgPool",
                "MaxPool",
                "avg_pool",
                "max_pool",
                "Embed",
                "EmbedLookupStyle",
                "Flatten",
                "Reshape",
            ),
        ),
        Page(
            "recurrent",
            "Recurrent cores and unrolling",
            "Recurrent cores map `(inputs, prev_state)` to `(outputs, next_state)`; "
            "`dynamic_unroll` (a `scan`) and `static_unroll` (a Python loop) run them over "
            "a time axis.",
            names=(
                "RNNCore",
                "VanillaRNN",
                "LSTM",
                "LSTMState",
                "GRU",
                "Conv1DLSTM",
                "Conv2DLSTM",
                "Conv3DLSTM",
                "IdentityCore",
                "ResetCore",
                "DeepRNN",
                "deep_rnn_with_skip_connections",
                "dynamic_unroll",
                "static_unroll",
            ),
        ),
        Page(
            "attention",
            "Attention",
            "Multi-head attention (Vaswani et al. 2017).",
            names=("MultiHeadAttention",),
        ),
        Page(
            "normalization",
            "Normalisation and moving averages",
            "Batch, layer, RMS, instance, group and spectral normalisation, and exponential "
            "moving averages of arrays and of parameter trees.",
            names=(
                "BatchNorm",
                "LayerNorm",
                "RMSNorm",
                "InstanceNorm",
                "GroupNorm",
                "SpectralNorm",
                "SNParamsTree",
                "ExponentialMovingAverage",
                "EMAParamsTree",
            ),
        ),
        Page(
            "nets",
            "Networks (`hk.nets`)",
            "Ready-made networks built from the layers: MLP, ResNets, MobileNet and vector "
            "quantisers.",
            modules=("nets",),
        ),
        Page(
            "initializers",
            "Initializers (`hk.initializers`)",
            "Callables `init(shape, dtype) -> array` passed as `w_init` / `b_init`; they draw "
            "keys with `hk.next_rng_key()` inside a transform.",
            modules=("initializers",),
        ),
        Page(
            "mixed_precision",
            "Mixed precision (`hk.mixed_precision`)",
            "Per-module-class dtype policies for parameters, computation and outputs.",
            modules=("mixed_precision",),
        ),
        Page(
            "data_structures",
            "Parameter trees (`hk.data_structures`)",
            "Filter, partition, merge, map and measure parameter and state trees.",
            modules=("data_structures",),
        ),
        Page(
            "sharding",
            "Sharding (`hk.sharding`)",
            "Layouts of parameters and activations over a device mesh; the "
            "[sharding guide](../../sharding.md) shows them on a small transformer.",
            modules=("sharding",),
        ),
        Page(
            "experimental",
            "Experimental (`hk.experimental`)",
            "APIs that may still change, and aliases of APIs that moved to the top level "
            "(kept so that code written against either location works).",
            modules=("experimental", "experimental.flax", "experimental.jaxpr_info"),
        ),
        Page(
            "utilities",
            "Padding, configuration, testing, typing",
            "`hk.pad` (padding functions for convolutions and pooling), `hk.config` "
            "(library-wide switches), `hk.testing` and `haiku_core.typing`.",
            modules=("pad", "config", "testing", "typing"),
        ),
    ),
)

RLAX = Section(
    package="rlax_core",
    alias="rlax",
    title="rlax-core API reference",
    extra_public=("categorical_sample", "embed_oar"),
    pages=(
        Page(
            "values",
            "Value learning, returns and V-trace",
            "TD errors, Q-learning variants, multi-step returns and off-policy corrections. "
            "Unbatched: one trajectory `[T]` (or one transition); use `jax.vmap` for a batch, "
            "or `rlax_core.batched` for episode-aware batched returns.",
            names=(
                "td_learning",
                "td_lambda",
                "sarsa",
                "expected_sarsa",
                "sarsa_lambda",
                "q_learning",
                "double_q_learning",
                "persistent_q_learning",
                "qv_learning",
                "qv_max",
                "q_lambda",
                "retrace",
                "retrace_continuous",
                "discounted_returns",
                "lambda_returns",
                "n_step_bootstrapped_returns",
                "truncated_generalized_advantage_estimation",
                "general_off_policy_returns_from_action_values",
                "general_off_policy_returns_from_q_and_v",
                "vtrace",
                "vtrace_td_error_and_advantage",
                "leaky_vtrace",
                "leaky_vtrace_td_error_and_advantage",
                "VTraceOutput",
            ),
        ),
        Page(
            "policy_gradients",
            "Policy gradients and policy optimisation",
            "Policy-gradient and actor-critic losses, MPO / V-MPO, and policy targets.",
            names=(
                "policy_gradient_loss",
                "entropy_loss",
                "clipped_surrogate_pg_loss",
                "dpg_loss",
                "qpg_loss",
                "rm_loss",
                "rpg_loss",
                "mpo_loss",
                "mpo_compute_weights_and_temperature_loss",
                "vmpo_loss",
                "vmpo_compute_weights_and_temperature_loss",
                "compute_parametric_kl_penalty_and_dual_loss",
                "LagrangePenalty",
                "PolicyTarget",
                "constant_policy_targets",
                "zero_policy_targets",
                "sampled_policy_distillation_loss",
            ),
        ),
        Page(
            "distributional",
            "Distributional RL",
            "Categorical (C51) and quantile (QR-DQN) value learning.",
            names=(
                "categorical_td_learning",
                "categorical_q_learning",
                "categorical_double_q_learning",
                "categorical_l2_project",
                "quantile_q_learning",
                "quantile_expected_sarsa",
                "quantile_regression_loss",
            ),
        ),
        Page(
            "distributions",
            "Action distributions",
            "Small distribution objects (`sample`, `probs`, `logprob`, `entropy`, `kl`) for "
            "discrete and continuous actions, and divergences between them.",
            names=(
                "softmax",
                "clipped_entropy_softmax",
                "greedy",
                "epsilon_greedy",
                "gaussian_diagonal",
                "squashed_gaussian",
                "categorical_sample",
                "categorical_cross_entropy",
                "categorical_importance_sampling_ratios",
                "categorical_kl_divergence",
                "multivariate_normal_kl_divergence",
            ),
        ),
        Page(
            "exploration",
            "Exploration",
            "Action noise and intrinsic rewards.",
            names=(
                "add_gaussian_noise",
                "add_ornstein_uhlenbeck_noise",
                "add_dirichlet_noise",
                "episodic_memory_intrinsic_rewards",
                "knn_query",
            ),
        ),
        Page(
            "transforms",
            "Value transforms and non-linear Bellman operators",
            "Invertible squashing functions (`signed_hyperbolic`, ...), two-hot encodings, "
            "and returns computed in transformed space (R2D2, MuZero).",
            names=(
                "identity",
                "sigmoid",
                "logit",
                "power",
                "signed_hyperbolic",
                "signed_parabolic",
                "signed_logp1",
                "signed_expm1",
                "transform_to_2hot",
                "transform_from_2hot",
                "TxPair",
                "IDENTITY_PAIR",
                "SIGNED_LOGP1_PAIR",
                "SIGNED_HYPERBOLIC_PAIR",
                "HYPERBOLIC_SIN_PAIR",
                "DISCOUNT_TRANSFORM_PAIR",
                "compose_tx",
                "muzero_pair",
                "twohot_pair",
                "unbiased_transform_pair",
                "transformed_n_step_returns",
                "transformed_lambda_returns",
                "transformed_general_off_policy_returns_from_action_values",
                "transformed_n_step_q_learning",
                "transformed_q_lambda",
                "transformed_retrace",
            ),
        ),
        Page(
            "modern",
            "Losses for modern agents (beyond rlax)",
            "Losses that rlax never had, in the same style: SAC and TD3, DreamerV3, CQL and "
            "IQL, PPO extras and KL estimators, GRPO and DPO, Munchausen DQN.",
            names=(
                "sac_soft_q_target",
                "sac_actor_loss",
                "sac_temperature_loss",
                "sac_discrete_soft_value",
                "sac_discrete_actor_loss",
                "sac_discrete_temperature_loss",
                "td3_target_policy_smoothing",
                "td3_clipped_double_q_target",
                "symlog",
                "symexp",
                "twohot_bins",
                "twohot_encode",
                "twohot_decode",
                "twohot_cross_entropy_loss",
                "PercentileNormalizerState",
                "percentile_normalizer_init",
                "percentile_normalizer_update",
                "percentile_normalize",
                "kl_balance_loss",
                "unimix_logits",
                "cql_discrete_regularizer",
                "cql_continuous_regularizer",
                "iql_expectile_value_loss",
                "iql_awr_policy_loss",
                "clipped_value_loss",
                "dual_clip_ppo_loss",
                "normalize_advantages",
                "adaptive_kl_coefficient",
                "kl_k1",
                "kl_k2",
                "kl_k3",
                "grpo_advantages",
                "grpo_loss",
                "dpo_loss",
                "munchausen_q_learning",
            ),
        ),
        Page(
            "batched",
            "Batched, episode-aware returns (`rlax_core.batched`)",
            "Returns and TD targets for a batch of rollouts with gymnasium's `terminated` / "
            "`truncated` flags; the [guide](../../rlax/batched.md) shows them on a vector "
            "environment.",
            modules=("batched",),
        ),
        Page(
            "utilities",
            "Losses, Pop-Art, moving averages and utilities",
            "Plain losses and gradient clipping, Pop-Art, moment EMAs, auxiliary rewards, "
            "model-learning helpers, update schedules, tree utilities and indexing helpers.",
            names=(
                "huber_loss",
                "l2_loss",
                "log_loss",
                "likelihood",
                "expectile_loss",
                "pixel_control_loss",
                "clip_gradient",
                "PopArtState",
                "popart",
                "art",
                "pop",
                "normalize",
                "unnormalize",
                "unnormalize_linear",
                "EmaMoments",
                "EmaState",
                "create_ema",
                "pixel_control_rewards",
                "feature_control_rewards",
                "fix_step_type_on_interruptions",
                "extract_subsequences",
                "sample_start_indices",
                "embed_oar",
                "conditional_update",
                "periodic_update",
                "AllSum",
                "batched_index",
                "lhs_broadcast",
                "one_hot",
                "replace_masked",
                "tree_fn",
                "tree_map_zipped",
                "tree_replace_masked",
                "tree_select",
                "tree_split_key",
                "tree_split_leaves",
                "transpose_first_axis_to_last",
                "transpose_last_axis_to_first",
            ),
        ),
    ),
)

SECTIONS: tuple[Section, ...] = (HAIKU, RLAX)


def _is_ours(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in {s.package for s in SECTIONS}


def _kind(obj: Any) -> str:
    """The autodoc directive suffix for ``obj``: ``class``, ``function`` or ``data``."""
    if inspect.isclass(obj) and not isinstance(obj, enum.Enum):
        return "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or inspect.ismethod(obj):
        return "function"
    if callable(obj) and hasattr(obj, "__wrapped__"):
        return "function"
    return "data"


def _directive(qualname: str, obj: Any, canonical: dict[int, str]) -> str:
    """reStructuredText for one public name: an autodoc entry, or an alias entry."""
    other = canonical.get(id(obj))
    kind = _kind(obj)
    role = {"class": "class", "function": "func", "data": "data"}[kind]
    module, _, name = qualname.rpartition(".")
    if other is not None and other != qualname:
        return f".. py:{kind}:: {name}\n   :module: {module}\n\n   Alias of :py:{role}:`{other}`.\n"
    if kind == "class" and not _is_ours(obj):
        target = f"{obj.__module__}.{obj.__qualname__}"
        return f".. py:data:: {name}\n   :module: {module}\n\n   Alias of ``{target}``.\n"
    if kind == "class":
        options = ["   :members:"]
        if obj.__bases__ != (object,):
            options.append("   :show-inheritance:")
        if "__call__" in vars(obj):
            options.append("   :special-members: __call__")
        return f".. autoclass:: {qualname}\n" + "\n".join(options) + "\n"
    if kind == "function":
        return f".. autofunction:: {qualname}\n"
    return f".. autodata:: {qualname}\n"


def _module_names(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return list(names)


def _canonical_names(section: Section) -> dict[int, str]:
    """id(object) -> the fully qualified name it is documented under in full."""
    package = importlib.import_module(section.package)
    canonical: dict[int, str] = {}
    for page in section.pages:
        for name in page.names:
            obj = getattr(package, name)
            canonical.setdefault(id(obj), f"{section.package}.{name}")
    for page in section.pages:
        for sub in page.modules:
            module = importlib.import_module(f"{section.package}.{sub}")
            for name in _module_names(module):
                obj = getattr(module, name)
                if not isinstance(obj, ModuleType):
                    canonical.setdefault(id(obj), f"{module.__name__}.{name}")
    return canonical


def _eval_rst(text: str) -> str:
    return "```{eval-rst}\n" + text.rstrip("\n") + "\n```\n"


def render_page(section: Section, page: Page, canonical: dict[int, str]) -> str:
    """MyST source of one API page.

    Args:
        section: the package section the page belongs to.
        page: the page.
        canonical: from ``_canonical_names(section)``.

    Returns:
        The page's Markdown.
    """
    package = importlib.import_module(section.package)
    out = [f"# {page.title}\n", page.intro + "\n"]
    if page.names:
        out.append(_eval_rst(f".. currentmodule:: {section.package}"))
        for name in page.names:
            out.append(
                _eval_rst(
                    _directive(f"{section.package}.{name}", getattr(package, name), canonical)
                )
            )
    for sub in page.modules:
        module = importlib.import_module(f"{section.package}.{sub}")
        if len(page.modules) > 1:
            out.append(f"## `{module.__name__}`\n")
        out.append(_eval_rst(f".. automodule:: {module.__name__}\n"))
        for name in _module_names(module):
            obj = getattr(module, name)
            if isinstance(obj, ModuleType):
                out.append(f"`{name}`: see {{py:mod}}`{obj.__name__}` below.\n")
                continue
            out.append(_eval_rst(_directive(f"{module.__name__}.{name}", obj, canonical)))
    return "\n".join(out)


def render_index(section: Section) -> str:
    """MyST source of a section's API index (a toctree over its pages)."""
    lines = [
        f"# {section.title}\n",
        f"Every public name of `{section.package}` (imported as `{section.alias}`), grouped "
        "by family. Each entry shows the signature with its type hints and the docstring "
        "(arguments, shapes, returns, errors).\n",
        "```{toctree}\n:maxdepth: 1\n",
        *[page.slug for page in section.pages],
        "```\n",
    ]
    return "\n".join(lines)


def iter_pages(section: Section) -> Iterator[tuple[str, str]]:
    """``(relative path, text)`` of every generated page of ``section``."""
    canonical = _canonical_names(section)
    short = section.package.split("_")[0]
    yield f"{short}/index.md", render_index(section)
    for page in section.pages:
        yield f"{short}/{page.slug}.md", render_page(section, page, canonical)


def write_pages(out_dir: Path) -> list[Path]:
    """Write the API pages of every section under ``out_dir`` (only files that changed).

    Args:
        out_dir: target folder (``docs/api``).

    Returns:
        The paths of all generated pages.
    """
    written = []
    for section in SECTIONS:
        for rel, text in iter_pages(section):
            path = out_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def _submodules(module: ModuleType) -> list[ModuleType]:
    """The public (no leading underscore) modules of a package, imported."""
    found = []
    for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
        if not info.name.startswith("_"):
            found.append(importlib.import_module(f"{module.__name__}.{info.name}"))
    return found


def public_names(section: Section) -> dict[str, list[str]]:
    """Every public name the reference must cover, per namespace.

    Args:
        section: a package section.

    Returns:
        ``{namespace: [fully qualified names]}`` for the package itself (its ``__all__``
        less ``__version__``, plus ``extra_public``) and each public sub-namespace found
        of the package (every module file or folder without a leading underscore,
        recursively), including those that are not in ``__all__``.
    """
    package = importlib.import_module(section.package)
    result: dict[str, list[str]] = {}
    top = [n for n in _module_names(package) if n != "__version__"]
    top += [n for n in section.extra_public if n not in top]
    stack: list[ModuleType] = []
    names = []
    for name in top:
        obj = getattr(package, name)
        if isinstance(obj, ModuleType):
            stack.append(obj)
        names.append(f"{section.package}.{name}")
    result[section.package] = names
    stack += _submodules(package)
    seen = set()
    while stack:
        module = stack.pop(0)
        if module.__name__ in seen:
            continue
        seen.add(module.__name__)
        stack += _submodules(module)
        sub_names = []
        for name in _module_names(module):
            obj = getattr(module, name)
            if isinstance(obj, ModuleType) and obj.__name__.startswith(section.package + "."):
                stack.append(obj)
            sub_names.append(f"{module.__name__}.{name}")
        result[module.__name__] = sub_names
    return result


def main(argv: Sequence[str]) -> int:
    """Write the pages into ``argv[0]`` (default ``docs/api``) and list them."""
    out = Path(argv[0]) if argv else ROOT / "docs" / GENERATED_DIR
    for path in write_pages(out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
