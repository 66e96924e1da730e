"""``mlapi keys new``: make an API key and print the settings entry that configures it."""

import json
from typing import Annotated

import typer

from mlapi.cli.context import Format, options
from mlapi.keys import ApiKey, Scope, key_digest, new_key

app = typer.Typer(help="Make API keys.", no_args_is_help=True)


@app.command("new")
def new(
    ctx: typer.Context,
    scope: Annotated[
        Scope, typer.Option(help="predict: predict and read; admin: also train, activate, delete.")
    ],
    name: Annotated[
        str | None,
        typer.Option(help="Who will hold it, as the audit log names it; the scope if unset."),
    ] = None,
) -> None:
    """Make a new API key; print it once, and the MLAPI_API_KEYS entry holding its SHA-256.

    The server is configured with the entry alone: it never sees the key until a client
    sends it. Clients of ``mlapi --url`` read their key from ``MLAPI_API_KEY``.
    """
    key = new_key()
    entry = ApiKey(name=name or scope.value, scope=scope, sha256=key_digest(key))
    configured = json.dumps([entry.model_dump(mode="json")])
    if options(ctx).format is Format.JSON:
        typer.echo(json.dumps({"key": key, "entry": entry.model_dump(mode="json")}, indent=2))
        return
    typer.echo(f"API key ({entry.scope}, '{entry.name}'), shown this once; give it to its holder:")
    typer.echo(f"  {key}")
    typer.echo("Configure the server with its hash (add the entry to any keys already there):")
    typer.echo(f"  MLAPI_API_KEYS='{configured}'")
    typer.echo("A client of 'mlapi --url' sends it from its environment:")
    typer.echo("  export MLAPI_API_KEY=<the key above>")
