"""Sphinx extension: the model card of the bundled model, written as mlapi writes it.

When the build starts, the bundled model is registered in a throwaway registry (a
SQLite file and a model store in a temporary folder), exactly as a new server registers
it as version 1, and the card that registration wrote is saved as
``docs/_generated/bundled_model_card.md`` (git-ignored), which ``model_card.md``
includes. The page cannot drift from the model or from the code that writes cards.
"""

import tempfile
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util.typing import ExtensionMetadata

from mlapi.serving.database import make_engine, migrate
from mlapi.serving.registry import Registry
from mlapi.serving.store import ModelStore

#: Where the card is written, relative to the documentation's source folder.
GENERATED = Path("_generated") / "bundled_model_card.md"


def write_bundled_card(destination: Path) -> None:
    """Register the bundled model in a throwaway registry and save the card it got."""
    with tempfile.TemporaryDirectory(prefix="mlapi-docs-card-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'registry.sqlite3'}")
        try:
            migrate(engine)
            registry = Registry(engine, ModelStore(str(Path(folder) / "models")))
            card = registry.card(registry.bootstrap().version)
        finally:
            engine.dispose()
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(card, encoding="utf-8")


def _on_builder_inited(app: Sphinx) -> None:
    write_bundled_card(Path(app.srcdir) / GENERATED)


def setup(app: Sphinx) -> ExtensionMetadata:
    """Write the bundled model's card when the build starts."""
    app.connect("builder-inited", _on_builder_inited)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
