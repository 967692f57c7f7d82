"""haiku-core: Haiku-style neural-network modules for JAX, drop-in for dm-haiku.

Every public name is re-exported here from ``haiku_core._src``; nothing else
lives in this file. Importing touches no device and no jax config.
"""

from haiku_core._version import __version__

# --- core: module system, transforms, params/state/rng, jax wrappers, lifting,
# --- interception (issue 3) --------------------------------------------------
# (imports for the core go here)

# --- independent pieces: initializers, data_structures, pad, mixed_precision
# --- (sub-namespaces) ----------------------------------------------------------
# (imports go here)

# --- layers: basic, conv, pooling, nets.MLP ------------------------------------
# (imports go here)

# --- norm, moving averages, attention, nets -----------------------------------
# (imports go here)

# --- recurrent ------------------------------------------------------------------
# (imports go here)

__all__ = [
    "__version__",
    # core names
    # independent pieces
    # layers
    # norm / moving averages / attention
    # recurrent
]
