"""``mlapi audit``: the audit log of model-changing requests and refused keys."""

import typer

from mlapi.cli import output
from mlapi.cli.context import LimitOption, OffsetOption, call


def audit(ctx: typer.Context, limit: LimitOption = 50, offset: OffsetOption = 0) -> None:
    """List the audit log, newest first: train, activate and delete requests, refused keys.

    On a server (``--url``) it needs an admin key in ``MLAPI_API_KEY``.
    """
    page = call(ctx, lambda backend: backend.audit.page(limit, offset))
    output.report(ctx, page, lambda: output.audit_table(page))
