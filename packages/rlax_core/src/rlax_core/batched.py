"""``rlax_core.batched``: batched, episode-aware returns and TD targets.

The functions take a batch of rollouts (``[T, B]``, or ``[B, T]`` with ``time_axis=1``) with
gymnasium-style ``terminated`` / ``truncated`` flags, and never mix information across episode
boundaries: a terminated step does not bootstrap, a truncated step bootstraps from the value
of the final observation. Targets are gradient-stopped by default. See
:mod:`rlax_core._src.batched` for the conventions.
"""

from rlax_core._src.batched import (
    BoundaryFlagError,
    VTraceOutput,
    discounted_returns,
    gae,
    lambda_returns,
    n_step_returns,
    peng_q_lambda_returns,
    retrace,
    td_lambda_errors,
    vtrace,
    watkins_q_lambda_returns,
)

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
