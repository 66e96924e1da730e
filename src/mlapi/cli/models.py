"""``mlapi models``: list, show, activate and delete model versions; print their cards."""

import typer

from mlapi.cli import output
from mlapi.cli.context import Format, LimitOption, OffsetOption, VersionArgument, call, options

app = typer.Typer(help="List, show, activate and delete model versions.", no_args_is_help=True)


@app.command("list")
def list_models(ctx: typer.Context, limit: LimitOption = 50, offset: OffsetOption = 0) -> None:
    """List model versions, newest first; the active one is marked with ``*``."""
    page = call(ctx, lambda backend: backend.versions(limit, offset))
    output.report(ctx, page, lambda: output.versions_table(page))


@app.command("show")
def show_model(ctx: typer.Context, version: VersionArgument) -> None:
    """Show one model version as JSON."""
    model = call(ctx, lambda backend: backend.version(version))
    typer.echo(output.as_json(model))


@app.command("card")
def show_card(ctx: typer.Context, version: VersionArgument) -> None:
    """Print a model version's card, in Markdown, whatever --format says."""
    typer.echo(call(ctx, lambda backend: backend.card(version)), nl=False)


@app.command("activate")
def activate_model(ctx: typer.Context, version: VersionArgument) -> None:
    """Make a version the active one (roll back or forward)."""
    model = call(ctx, lambda backend: backend.activate(version, "cli"))
    output.report(ctx, model, lambda: typer.echo(f"model version {model.version} is now active"))


@app.command("delete")
def delete_model(ctx: typer.Context, version: VersionArgument) -> None:
    """Delete a version and its file (not the active one); prints nothing with --format json."""
    call(ctx, lambda backend: backend.delete(version))
    if options(ctx).format is Format.TEXT:
        typer.echo(f"model version {version} deleted")
