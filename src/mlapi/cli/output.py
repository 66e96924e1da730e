"""How commands print records: as tables and sentences, or as JSON.

JSON is the REST API's own: the record serialised as the routes answer with it, so a
script gets the same document from ``mlapi --format json`` as from ``curl``.
"""

from collections.abc import Callable

import typer
from pydantic import TypeAdapter
from rich.console import Console
from rich.table import Column, Table

from mlapi.cli.context import Format, options
from mlapi.serving.records import AuditPage, JobPage, ModelVersion, ModelVersionPage

console = Console()


def as_json(record: object) -> str:
    """Serialise a record as the REST API answers with it.

    Args:
        record: A record of :mod:`mlapi.serving.records`.

    Returns:
        Indented JSON.
    """
    return TypeAdapter(type(record)).dump_json(record, indent=2).decode()


def report(ctx: typer.Context, record: object, text: Callable[[], None]) -> None:
    """Print what a command did: ``text()`` in text format, else the record's JSON.

    Args:
        ctx: The context of the running command.
        record: What the operation returned.
        text: Prints it for a human.
    """
    if options(ctx).format is Format.JSON:
        typer.echo(as_json(record))
    else:
        text()


def versions_table(page: ModelVersionPage) -> None:
    """Print a page of model versions as a table, the active one marked with ``*``."""
    table = Table(
        "version", "active", "algorithm", "data set", "accuracy", "macro F1", "created", "by"
    )
    for item in page.items:
        table.add_row(
            str(item.version),
            "*" if item.active else "",
            item.algorithm,
            item.dataset_name,
            f"{item.metrics.accuracy:.4f}",
            f"{item.metrics.macro_f1:.4f}",
            item.created_at.isoformat()[:19],
            item.created_by,
        )
    console.print(table)
    console.print(f"{len(page.items)} of {page.total} versions")


def jobs_table(page: JobPage) -> None:
    """Print a page of training jobs as a table, each id in full."""
    # The id and state in full, whatever the terminal's width: the id is what
    # `jobs show` takes.
    job_id = Column("id", no_wrap=True, min_width=36)
    state = Column("state", no_wrap=True, min_width=9)
    table = Table(job_id, state, "progress", "algorithm", "version", "created", "error")
    for item in page.items:
        table.add_row(
            item.id,
            item.state,
            f"{item.progress:.0%}",
            item.algorithm,
            str(item.model_version or ""),
            item.created_at.isoformat()[:19],
            item.error or "",
        )
    console.print(table)
    console.print(f"{len(page.items)} of {page.total} jobs")


def audit_table(page: AuditPage) -> None:
    """Print a page of the audit log as a table, newest first."""
    table = Table("at", "action", "outcome", "status", "key", "source", "target", "detail")
    for item in page.items:
        table.add_row(
            item.at.isoformat()[:19],
            item.action,
            item.outcome,
            str(item.status),
            item.key_name or "",
            item.source or "",
            item.target or "",
            item.detail or "",
        )
    console.print(table)
    console.print(f"{len(page.items)} of {page.total} events")


def metrics(model: ModelVersion) -> None:
    """Print a model version's held-out metrics, class by class."""
    typer.echo(
        f"model version {model.version} ({model.algorithm})"
        f"{' is now active' if model.active else ''}"
    )
    typer.echo(
        f"held-out accuracy {model.metrics.accuracy:.4f}, macro F1 {model.metrics.macro_f1:.4f}"
    )
    for name, per_class in model.metrics.per_class.items():
        typer.echo(
            f"  {name:<20} precision {per_class.precision:.3f}"
            f"  recall {per_class.recall:.3f}  f1 {per_class.f1:.3f}"
            f"  support {per_class.support}"
        )
