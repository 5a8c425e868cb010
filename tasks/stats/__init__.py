"""Statistics for A/B tests on sufficient statistics. Pure math: no I/O. The contract is
docs/contracts.md, "Formats" (statistics API).

This package is the public face; each subject is a private module: ``_sufficient`` (one
arm's statistics and moments), ``_cuped`` (regression adjustment and the two-arm comparison),
``_frequentist``, ``_sequential``, ``_bayesian``, ``_srm``, ``_multiple_testing``, ``_power``;
:func:`assign_variant` and :func:`cumulative_weights` are re-exported from
``flywheel.tasks.serving.assignment``, their one definition.

The formulas follow the GrowthBook stats engine (gbstats) so that every number can be
cross-checked against it; ``docs/statistics.md`` writes each one out. In short:

* an arm is summarised by sufficient statistics (:class:`MeanStats`, :class:`BinomialStats`,
  :class:`RatioStats`, :class:`CupedStats`, and the extensions :class:`CupedRatioStats` and
  :class:`QuantileStats`), from which it has ``n``, a mean and a per-unit variance;
* the effect of a treatment over the control is absolute (m_B − m_A) or relative
  ((m_B − m_A)/|m_A|, delta-method variance v_B/(m_A² n_B) + v_A m_B²/(m_A⁴ n_A));
* :func:`frequentist_test` is Welch's t-test (Welch–Satterthwaite df), or with
  ``sequential_tuning`` the Waudby-Smith asymptotic confidence sequence;
* :func:`bayesian_test` puts a flat or normal prior on the effect;
* :func:`srm_p_value`, :func:`holm_bonferroni`, :func:`benjamini_hochberg`, :func:`power`,
  :func:`minimum_detectable_effect`, :func:`required_sample_size`,
  :func:`sample_to_show_margin` and :func:`assign_variant`.
"""

from __future__ import annotations

# the variant split is the serving one (standard library only: serving loads no scipy)
from flywheel.tasks.serving.assignment import assign_variant, cumulative_weights
from flywheel.tasks.stats._bayesian import (
    BayesianResult,
    bayesian_test,
    normal_risk,
)
from flywheel.tasks.stats._cuped import (
    ZERO_CONTROL_MEAN,
    Comparison,
    adjusted_moments,
    compare,
    cuped_ratio_theta,
    cuped_theta,
    effect,
)
from flywheel.tasks.stats._frequentist import (
    FrequentistResult,
    frequentist_test,
    welch_df,
)
from flywheel.tasks.stats._multiple_testing import (
    benjamini_hochberg,
    holm_bonferroni,
)
from flywheel.tasks.stats._power import (
    critical_value,
    minimum_detectable_effect,
    power,
    required_sample_size,
    sample_to_show_margin,
)
from flywheel.tasks.stats._sequential import (
    DEFAULT_SEQUENTIAL_TUNING,
    Alternative,
    sequential_halfwidth,
    sequential_rho,
)
from flywheel.tasks.stats._srm import (
    srm_p_value,
)
from flywheel.tasks.stats._sufficient import (
    ArmMoments,
    BinomialStats,
    CupedRatioStats,
    CupedStats,
    MeanStats,
    QuantileStats,
    RatioStats,
    Stats,
    arm_moments,
)

__all__ = [
    "DEFAULT_SEQUENTIAL_TUNING",
    "ZERO_CONTROL_MEAN",
    "Alternative",
    "ArmMoments",
    "BayesianResult",
    "BinomialStats",
    "Comparison",
    "CupedRatioStats",
    "CupedStats",
    "FrequentistResult",
    "MeanStats",
    "QuantileStats",
    "RatioStats",
    "Stats",
    "adjusted_moments",
    "arm_moments",
    "assign_variant",
    "bayesian_test",
    "benjamini_hochberg",
    "compare",
    "critical_value",
    "cumulative_weights",
    "cuped_ratio_theta",
    "cuped_theta",
    "effect",
    "frequentist_test",
    "holm_bonferroni",
    "minimum_detectable_effect",
    "normal_risk",
    "power",
    "required_sample_size",
    "sample_to_show_margin",
    "sequential_halfwidth",
    "sequential_rho",
    "srm_p_value",
    "welch_df",
]
