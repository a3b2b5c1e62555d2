"""Build the judged development set ``benchmarks/judged/dev.jsonl`` from the demo catalogue.

    market db upgrade && market demo load            # seed 2026: the ids the set refers to
    .venv/bin/python benchmarks/judged/build_dev_set.py [--out PATH] [--seed 2026] [--needs 72]

Needs are drawn from a seeded generator, stratified over capability (every capability the
listed catalogue offers), 2-digit industry division, SME size, region (the two pilot cities,
their neighbours and outside), budget, preferred pricing model, protocols and on-site
requirement; about 15 % are built to have **no valid provider** (two must-haves no listed
solution combines, on-site service where no listed provider reaches, or a budget below every
offer). Each need is then judged against every provider by the rubric below, applied
mechanically to the database rows the demo loader wrote (through the same record loader the
index uses, so "listed" is ``catalog.visibility``'s rule). The judge never runs the engine.

Rubric, per provider = the best grade of its published solutions (the engine shows one
solution per provider):

* **0**: irrelevant, or breaks a hard constraint: not listed in a pool, no declared capacity,
  minimum price above 1.2 × budget, size class neither targeted (when the listing names
  targets) nor proven by a verified case, on-site service required but the provider is in
  another province and declares no coverage of the SME's area;
* **1**: related (covers at least one requested capability) but misses a must-have;
* **2**: covers every must-have, with weaker fit (industry or size not confirmed);
* **3**: covers every must-have, and the listing declares the SME's 2-digit industry division
  (or the provider has a verified case in it), and the listing targets the SME's size class
  (or a verified case proves it).

Grades 1–3 are written, plus a 0 for every related provider that breaks a hard constraint, so
a reader sees the traps; unjudged providers count as 0. The generator depends only on the seed
and on the catalogue, so rebuilding against the same demo seed reproduces the file byte for
byte.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from catalog.taxonomy import describe_industry, vocabulary
from core.database import Database
from core.settings import get_settings
from market.recommendations import adapter
from matching import Need, ProviderRecord, SolutionRecord

HERE = Path(__file__).parent
DEFAULT_OUT = HERE / "dev.jsonl"

# (region code, weight): the pilot cities lead, as on the platform.
REGIONS: tuple[tuple[str, float], ...] = (
    ("320400", 5),  # 常州
    ("441900", 5),  # 东莞
    ("320200", 2),  # 无锡
    ("321100", 1),  # 镇江
    ("440600", 2),  # 佛山
    ("441300", 1),  # 惠州
    ("330100", 1),  # 杭州
    ("440300", 1),  # 深圳
)
# Provinces no demo provider is registered in: on-site needs there have no valid provider
# unless someone declares coverage.
REMOTE_REGIONS = ("650100", "630100", "540100", "150100")
SIZES: tuple[tuple[str, float], ...] = (("micro", 2), ("small", 5), ("medium", 4))
SIZE_ZH = {"micro": "微型", "small": "小型", "medium": "中型", "large": "大型"}
# Budgets in fen (None: the SME gave none).
BUDGETS: tuple[tuple[int | None, float], ...] = (
    (None, 3),
    (5_000_000, 2),  # 5万
    (20_000_000, 3),  # 20万
    (50_000_000, 2),  # 50万
    (150_000_000, 1),  # 150万
)
PRICING: tuple[tuple[tuple[str, ...], float], ...] = (
    ((), 4),
    (("subscription",), 2),
    (("one_off",), 2),
    (("lease",), 1),
    (("metered",), 1),
)
PAINS = (
    "设备状态全靠人工巡检",
    "报表靠手工统计，数据不及时",
    "订单交期经常延误",
    "质量问题难以追溯",
    "能耗偏高但说不清花在哪里",
    "老设备多、接口杂",
    "库存账实不符",
)
NO_VALID_SHARE = 0.15
# A budget of 100 yuan: below every project and most subscription prices.
TINY_BUDGET_FEN = 10_000

T = TypeVar("T")


@dataclass
class Catalogue:
    solutions: list[SolutionRecord]
    providers: dict[str, ProviderRecord]
    by_provider: dict[str, list[SolutionRecord]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        grouped: dict[str, list[SolutionRecord]] = defaultdict(list)
        for solution in self.solutions:
            grouped[solution.provider_id].append(solution)
        self.by_provider = dict(grouped)

    def listed_solutions(self) -> list[SolutionRecord]:
        return [s for s in self.solutions if self.providers[s.provider_id].listed]


# --- the rubric ---------------------------------------------------------------------------


def _division(code: str | None) -> str:
    digits = "".join(char for char in (code or "") if char.isdigit())
    return digits[:2]


def _province(code: str | None) -> str:
    return (code or "")[:2]


def _reaches(provider: ProviderRecord, region: str) -> bool:
    """On-site: same province, or declared coverage of the SME's county, city or province."""
    if _province(provider.region_code) == _province(region):
        return True
    areas = {region, region[:4] + "00", region[:2] + "0000"}
    return any(covered in areas for covered in provider.on_site_regions)


def breaks_hard_rule(need: Need, solution: SolutionRecord, provider: ProviderRecord) -> bool:
    if not provider.listed or provider.suspended or provider.capacity <= 0:
        return True
    if need.budget_fen and solution.min_price_fen is not None:
        if solution.min_price_fen > 1.2 * need.budget_fen:
            return True
    if need.sme_size and solution.target_sizes:
        served = set(solution.target_sizes) | set(provider.sizes_served_proven)
        if need.sme_size not in served:
            return True
    return bool(
        need.onsite_required and need.region_code and not _reaches(provider, need.region_code)
    )


def grade(need: Need, solution: SolutionRecord, provider: ProviderRecord) -> int:
    offered = set(solution.capabilities)
    requested = set(need.must_capabilities) | set(need.nice_capabilities)
    related = bool(offered & requested)
    if not related or breaks_hard_rule(need, solution, provider):
        return 0
    if not set(need.must_capabilities) <= offered:
        return 1
    division = _division(need.industry_code)
    industry_fit = bool(division) and (
        division in {_division(code) for code in solution.industries}
        or division in {_division(case.industry_code) for case in provider.verified_cases}
    )
    size_fit = bool(need.sme_size) and (
        need.sme_size in solution.target_sizes or need.sme_size in provider.sizes_served_proven
    )
    return 3 if industry_fit and size_fit else 2


def judge(need: Need, catalogue: Catalogue) -> dict[str, int]:
    """Provider id → grade for every related provider (see the module docstring)."""
    judgments: dict[str, int] = {}
    requested = set(need.must_capabilities) | set(need.nice_capabilities)
    for provider_id, solutions in catalogue.by_provider.items():
        provider = catalogue.providers[provider_id]
        related = [s for s in solutions if set(s.capabilities) & requested]
        if not related:
            continue
        best = max(grade(need, solution, provider) for solution in related)
        judgments[provider_id] = best
    return dict(sorted(judgments.items(), key=lambda item: (-item[1], item[0])))


# --- needs --------------------------------------------------------------------------------


def _weighted(rng: random.Random, pairs: Sequence[tuple[T, float]]) -> T:
    values = [value for value, _weight in pairs]
    weights = [weight for _value, weight in pairs]
    return rng.choices(values, weights=weights, k=1)[0]


def _capability_phrase(rng: random.Random, capability: str) -> str:
    term = vocabulary("capabilities").get(capability)
    assert term is not None
    # Sometimes the SME's own word (数采, 上云) rather than the taxonomy name.
    if term.synonyms and rng.random() < 0.4:
        return rng.choice(term.synonyms)
    return term.zh


def _protocol_phrase(protocol: str) -> str:
    term = vocabulary("protocols").get(protocol)
    return term.en if term is not None else protocol


def _industry_name(code: str) -> str:
    described = describe_industry(code)
    return described["zh"] if described is not None else "制造"


def _region_name(code: str) -> str:
    term = vocabulary("regions").get(code)
    if term is None:
        term = vocabulary("regions").get(code[:2] + "0000")
    return term.zh if term is not None else ""


def need_text(rng: random.Random, need: Need) -> str:
    capabilities = "、".join(
        _capability_phrase(rng, cap) for cap in (*need.must_capabilities, *need.nice_capabilities)
    )
    parts = [
        f"我们是{_region_name(need.region_code or '')}一家{SIZE_ZH.get(need.sme_size or '', '')}"
        f"{_industry_name(need.industry_code or '')}企业，{rng.choice(PAINS)}",
        f"希望做{capabilities}",
    ]
    if need.protocols:
        parts.append("设备以 " + "、".join(_protocol_phrase(p) for p in need.protocols) + " 为主")
    if need.onsite_required:
        parts.append("需要工程师上门实施")
    if need.budget_fen:
        parts.append(f"预算约{need.budget_fen / 1_000_000:g}万元")
    return "，".join(parts) + "。"


@dataclass(frozen=True)
class Plan:
    capabilities: list[str]
    industries: list[str]
    protocols_by_capability: dict[str, list[str]]
    pairs: list[tuple[str, str]]
    uncovered_pairs: list[tuple[str, str]]


def plan(catalogue: Catalogue) -> Plan:
    listed = catalogue.listed_solutions()
    coverage = Counter(cap for s in listed for cap in set(s.capabilities))
    capabilities = sorted(cap for cap, count in coverage.items() if count >= 2)
    industries = sorted(
        {_division(code) for s in listed for code in s.industries if _division(code)}
    )
    protocols: dict[str, set[str]] = defaultdict(set)
    pairs: set[tuple[str, str]] = set()
    for solution in listed:
        caps = sorted(set(solution.capabilities))
        for cap in caps:
            protocols[cap].update(solution.protocols_native)
        pairs.update((a, b) for a in caps for b in caps if a < b)
    uncovered = [
        (a, b) for a in capabilities for b in capabilities if a < b and (a, b) not in pairs
    ]
    return Plan(
        capabilities=capabilities,
        industries=industries,
        protocols_by_capability={cap: sorted(values) for cap, values in protocols.items()},
        pairs=sorted(pairs),
        uncovered_pairs=uncovered,
    )


def draw_need(rng: random.Random, plan_: Plan, number: int, capability: str) -> Need:
    must = [capability]
    partners = [b for a, b in plan_.pairs if a == capability] + [
        a for a, b in plan_.pairs if b == capability
    ]
    if partners and rng.random() < 0.3:
        must.append(rng.choice(sorted(partners)))
    nice_pool = [cap for cap in plan_.capabilities if cap not in must]
    nice = rng.sample(nice_pool, k=rng.choice((0, 0, 1, 2)))
    known_protocols = plan_.protocols_by_capability.get(capability, [])
    protocols = (
        rng.sample(known_protocols, k=min(len(known_protocols), rng.choice((1, 2))))
        if known_protocols and rng.random() < 0.6
        else []
    )
    industry = rng.choice(plan_.industries)
    if rng.random() < 0.3:
        # Deeper codes too: SMEs often know their 4-digit class.
        industry = industry + rng.choice(("1", "2", "9")) + "9"
    return Need(
        need_id=f"dev-{number:03d}",
        must_capabilities=tuple(must),
        nice_capabilities=tuple(nice),
        protocols=tuple(protocols),
        industry_code=industry,
        sme_size=_weighted(rng, SIZES),
        region_code=_weighted(rng, REGIONS),
        budget_fen=_weighted(rng, BUDGETS),
        preferred_pricing=_weighted(rng, PRICING),
        onsite_required=rng.random() < 0.2,
        pure_saas=adapter.is_pure_saas([*must, *nice]),
    )


def draw_impossible(rng: random.Random, plan_: Plan, number: int, kind: str) -> Need:
    """A need no listed provider can serve, of one of three kinds."""
    base = draw_need(rng, plan_, number, rng.choice(plan_.capabilities))
    if kind == "uncovered_pair" and plan_.uncovered_pairs:
        a, b = rng.choice(plan_.uncovered_pairs)
        return replace(base, must_capabilities=(a, b), nice_capabilities=(), protocols=())
    if kind == "remote_onsite":
        return replace(base, region_code=rng.choice(REMOTE_REGIONS), onsite_required=True)
    return replace(base, budget_fen=TINY_BUDGET_FEN, preferred_pricing=("one_off",))


def has_valid_provider(judgments: dict[str, int]) -> bool:
    return any(value >= 2 for value in judgments.values())


def build(catalogue: Catalogue, *, seed: int, needs: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    plan_ = plan(catalogue)
    if not plan_.capabilities:
        raise SystemExit("no listed provider offers anything: load the demo (with its pools) first")
    impossible_target = round(needs * NO_VALID_SHARE)
    lines: list[dict[str, object]] = []
    number = 0
    kinds = ("uncovered_pair", "remote_onsite", "tiny_budget")
    attempts = 0
    while len(lines) < needs - impossible_target:
        attempts += 1
        if attempts > needs * 50:
            raise SystemExit("could not draw enough needs with a valid provider")
        capability = plan_.capabilities[len(lines) % len(plan_.capabilities)]
        candidate = draw_need(rng, plan_, number + 1, capability)
        judgments = judge(candidate, catalogue)
        if not has_valid_provider(judgments):
            continue
        number += 1
        candidate = replace(candidate, text=need_text(rng, candidate))
        lines.append({"need": adapter.need_as_dict(candidate), "judgments": judgments})
    made = 0
    while made < impossible_target:
        attempts += 1
        if attempts > needs * 200:
            raise SystemExit("could not draw enough needs without a valid provider")
        candidate = draw_impossible(rng, plan_, number + 1, kinds[made % len(kinds)])
        judgments = judge(candidate, catalogue)
        if has_valid_provider(judgments):
            continue
        number += 1
        made += 1
        candidate = replace(candidate, text=need_text(rng, candidate))
        lines.append({"need": adapter.need_as_dict(candidate), "judgments": judgments})
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--needs", type=int, default=72)
    args = parser.parse_args(argv)

    db = Database.from_url(get_settings().database_url)
    with db.transaction() as session:
        solutions, providers = adapter.load_catalog(session)
    db.engine.dispose()
    catalogue = Catalogue(solutions, {p.provider_id: p for p in providers})
    lines = build(catalogue, seed=args.seed, needs=args.needs)
    args.out.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines),
        encoding="utf-8",
    )
    grades = Counter(grade for line in lines for grade in line["judgments"].values())  # type: ignore[attr-defined]
    without = sum(1 for line in lines if not has_valid_provider(line["judgments"]))  # type: ignore[arg-type]
    listed = sum(1 for p in providers if p.listed)
    print(
        f"wrote {len(lines)} needs to {args.out} ({without} without a valid provider); "
        f"grades {dict(sorted(grades.items()))}; catalogue: {listed}/{len(providers)} providers "
        f"listed, {len(solutions)} published solutions"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
