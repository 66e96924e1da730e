"""``mlapi jobs``: list, show and cancel training jobs."""

import typer

from mlapi.cli import output
from mlapi.cli.context import LimitOption, OffsetOption, call

app = typer.Typer(help="List, show and cancel training jobs.", no_args_is_help=True)


@app.command("list")
def list_jobs(ctx: typer.Context, limit: LimitOption = 50, offset: OffsetOption = 0) -> None:
    """List training jobs, newest first."""
    page = call(ctx, lambda backend: backend.jobs(limit, offset))
    output.report(ctx, page, lambda: output.jobs_table(page))


@app.command("show")
def show_job(ctx: typer.Context, job_id: str) -> None:
    """Show one training job as JSON."""
    job = call(ctx, lambda backend: backend.job(job_id))
    typer.echo(output.as_json(job))


@app.command("cancel")
def cancel_job(ctx: typer.Context, job_id: str) -> None:
    """Cancel a queued or running training job; a finished one is refused."""
    job = call(ctx, lambda backend: backend.cancel(job_id, cancelled_by="cli"))
    output.report(ctx, job, lambda: typer.echo(f"cancelled training job {job.id}"))
