"""Sphinx configuration of the mlapi documentation.

Build from the repository root with ``make docs`` or, by hand,
``sphinx-build -W --keep-going -b html docs docs/_build/html``.
The build needs no network: there is no intersphinx, and every page comes from
``docs/`` and the docstrings of ``src/mlapi``.
"""

import os
import sys
import tomllib
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

# The local extensions that render tables from the code (docs/_ext/mlapi_docs.py) and
# write the bundled model's card (docs/_ext/mlapi_card.py), and
# the source tree, so that autodoc documents this checkout even if mlapi is installed
# from elsewhere.
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT / "src"))

# Importing mlapi.main builds the app, which reads Settings from MLAPI_* variables: the
# docs describe the defaults, not whatever the machine that builds them has set.
for _name in [name for name in os.environ if name.startswith("MLAPI_")]:
    del os.environ[_name]

with (ROOT / "pyproject.toml").open("rb") as _handle:
    _PROJECT = tomllib.load(_handle)["project"]

# -- Project information -----------------------------------------------------------------

project = "mlapi"
author = "mlapi developers"
copyright = "mlapi developers, MIT License"
release = _PROJECT["version"]
version = ".".join(release.split(".")[:2])

# -- General configuration ---------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_parser",
    "mlapi_docs",
    "mlapi_card",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# _generated holds pages' parts written at build time (the bundled model's card).
exclude_patterns = ["_build", "_ext", "_generated", "Thumbs.db", ".DS_Store"]
language = "en"
pygments_style = "sphinx"
pygments_dark_style = "monokai"

# -- autodoc and napoleon (Google style, as in the article) --------------------------------

autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
    "show-inheritance": True,
    # pydantic's generic model_config docstring says nothing about these models.
    "exclude-members": "model_config",
}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_preserve_defaults = True

napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_include_init_with_doc = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# -- MyST (the Markdown pages) -------------------------------------------------------------

myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# -- HTML ----------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"mlapi {release}"
html_short_title = "mlapi"
html_show_sourcelink = False
html_theme_options = {"navigation_with_keys": True}

# -- LaTeX / PDF (make latexpdf) ---------------------------------------------------------

latex_engine = "pdflatex"
latex_documents = [
    (root_doc, "mlapi.tex", "mlapi Documentation", author, "manual"),
]
latex_elements = {
    "papersize": "a4paper",
    "pointsize": "10pt",
}
