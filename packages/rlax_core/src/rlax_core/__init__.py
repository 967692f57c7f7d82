"""rlax-core: reinforcement-learning maths for JAX, drop-in for rlax.

Every public name is re-exported here from ``rlax_core._src``; nothing else
lives in this file.
"""

from rlax_core._version import __version__

# --- part 1: base, checks, losses, clipping, multistep, value learning, vtrace,
# --- distributional, transforms, nonlinear bellman (issue 5) -----------------
# (imports for part 1 go here, one per name)
from rlax_core._src.base import AllSum, batched_index, lhs_broadcast, one_hot, replace_masked

# --- part 2: policy gradients, distributions, exploration, mpo, pop-art,
# --- policy targets, gvf, model learning, interruptions, nested updates,
# --- embedding, episodic memory, moving averages, tree utils (issue 6) ------
# (imports for part 2 go here, one per name)

__all__ = [
    "__version__",
    # part 1 names (sorted within the part)
    "AllSum",
    "batched_index",
    "lhs_broadcast",
    "one_hot",
    "replace_masked",
    # part 2 names (sorted within the part)
]
