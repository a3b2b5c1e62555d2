"""``market match eval``: ranking quality of the engine and two baselines on a judged set."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from core.database import Database
from core.settings import get_settings
from market.recommendations import adapter
from matching import CatalogIndex, JudgedNeed, default_embedder, evaluate_all, parse_judged_line

app = typer.Typer(help="The matching engine: quality evaluation", no_args_is_help=True)
console = Console()

SYSTEMS: tuple[tuple[str, str], ...] = (
    ("engine", "full engine"),
    ("text_only", "text only"),
    ("rating_only", "rating only"),
)
# (field of SystemMetrics, label, format) in the order the table shows them.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("ndcg_5", "NDCG@5", "{:.4f}"),
    ("ndcg_10", "NDCG@10", "{:.4f}"),
    ("mrr", "MRR", "{:.4f}"),
    ("recall_10", "recall@10", "{:.4f}"),
    ("violation_rate", "hard-constraint violation rate", "{:.4f}"),
    ("exposure_gini", "exposure Gini", "{:.4f}"),
    ("new_provider_share", "new-provider share", "{:.4f}"),
    ("needs", "needs", "{}"),
    ("needs_with_relevant", "needs with a relevant item", "{}"),
    ("shown", "results shown", "{}"),
)


def read_judged(path: Path) -> list[JudgedNeed]:
    """Every non-blank line of a judged JSONL file; a bad line names its number."""
    judged: list[JudgedNeed] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            judged.append(parse_judged_line(line))
        except (ValueError, TypeError) as exc:
            # Plain text, not a Rich panel: a long path must stay on one line to be found.
            typer.echo(f"{path}:{number}: {exc}", err=True)
            raise typer.Exit(code=2) from exc
    return judged


def _index(*, embedding: bool) -> CatalogIndex:
    db = Database.from_url(get_settings().database_url)
    with db.transaction() as session:
        solutions, providers = adapter.load_catalog(session)
    db.engine.dispose()
    names = adapter.vocabularies()
    return CatalogIndex.build(
        solutions,
        providers,
        capability_ids=names.capabilities,
        protocol_ids=names.protocols,
        pricing_ids=names.pricing_models,
        embedder=default_embedder() if embedding else None,
    )


@app.command("eval")
def evaluate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="judged set (JSONL)")],
    k: Annotated[int, typer.Option(min=1, max=50, help="list length evaluated")] = 10,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="also write the figures here")
    ] = None,
    embedding: Annotated[
        bool,
        typer.Option(help="fuse the sentence encoder into text relevance (--no-embedding: BM25)"),
    ] = True,
) -> None:
    """NDCG@5/@10, MRR, recall@10, violation rate, exposure Gini and new-provider share for the
    full engine and the text-only and rating-only baselines, over the current database.

    Exits with status 1 when the engine shows a result that breaks a hard rule it did not
    announce as relaxed: that rate must be 0."""
    judged = read_judged(file)
    started = time.perf_counter()
    index = _index(embedding=embedding)
    built = time.perf_counter() - started
    results = evaluate_all(index, judged, k=k)
    elapsed = time.perf_counter() - started - built

    table = Table(
        title=f"{file.name}: {len(judged)} needs, k = {k}, text {index.text_mode}, "
        f"{index.provider_count} providers / {index.size} solutions indexed"
    )
    table.add_column("metric")
    for _key, label in SYSTEMS:
        table.add_column(label, justify="right")
    for field, label, shape in METRICS:
        table.add_row(
            label, *(shape.format(getattr(results[key], field)) for key, _label in SYSTEMS)
        )
    # At least 100 columns: piped or narrow output must not wrap a metric's name, since
    # scripts and tests read the table too.
    Console(width=max(console.width, 100)).print(table)
    console.print(f"index built in {built:.1f} s, evaluated in {elapsed:.1f} s")

    if json_out is not None:
        report: dict[str, Any] = {
            "file": str(file),
            "k": k,
            "needs": len(judged),
            "text_mode": index.text_mode,
            "providers": index.provider_count,
            "solutions": index.size,
            "systems": {key: asdict(results[key]) for key, _label in SYSTEMS},
        }
        json_out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        console.print(f"[green]wrote[/green] {json_out}")

    if results["engine"].violation_rate > 0:
        console.print("[red]the engine showed results that break a hard rule[/red]")
        raise typer.Exit(code=1)
