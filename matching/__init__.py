"""The recommendation engine: pure functions over a structure-of-arrays catalog index.

Callers build a :class:`CatalogIndex` from plain records (never ORM objects), keep it until the
catalog changes (then :meth:`CatalogIndex.with_updates`), and call :func:`recommend` and
:func:`why_not` per request. Weights and thresholds live in :mod:`matching.weights`.
"""

from matching.catalog_index import (
    SIZE_CLASSES,
    CatalogIndex,
    Need,
    ProviderRecord,
    ResponseStats,
    SolutionRecord,
    VerifiedCase,
)
from matching.constraints import AppliedRelaxation
from matching.engine import ENGINE_VERSION, Recommendation, Result, WhyNot, recommend, why_not
from matching.evaluation import (
    JudgedNeed,
    SystemMetrics,
    evaluate_all,
    evaluate_system,
    parse_judged_line,
)
from matching.explain import Names
from matching.text_relevance import Embedder, UniversalSentenceEncoder, default_embedder
from matching.trust import Review, TrustSummary, summarise, wilson_lower_bound
from matching.weights import DEFAULT_WEIGHTS, FEATURES, Weights

__all__ = [
    "DEFAULT_WEIGHTS",
    "ENGINE_VERSION",
    "FEATURES",
    "SIZE_CLASSES",
    "AppliedRelaxation",
    "CatalogIndex",
    "Embedder",
    "JudgedNeed",
    "Names",
    "Need",
    "ProviderRecord",
    "Recommendation",
    "ResponseStats",
    "Result",
    "Review",
    "SolutionRecord",
    "SystemMetrics",
    "TrustSummary",
    "UniversalSentenceEncoder",
    "VerifiedCase",
    "Weights",
    "WhyNot",
    "default_embedder",
    "evaluate_all",
    "evaluate_system",
    "parse_judged_line",
    "recommend",
    "summarise",
    "why_not",
    "wilson_lower_bound",
]
