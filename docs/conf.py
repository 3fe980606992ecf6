"""Sphinx configuration of the nmfkit documentation site.

Build (from the repository root; warnings are errors, cross-references are checked):

    python -m sphinx -W --keep-going -n -b html docs docs/_build/html
    python -m sphinx -b doctest docs docs/_build/doctest     # the docstrings' Examples

The gallery (docs/examples/*.py) runs at build time through sphinx-gallery.
"""

import os
import warnings

import nmfkit

# -- Project ------------------------------------------------------------------------------------
project = "nmfkit"
author = "The nmfkit developers"
copyright = "2026, The nmfkit developers"  # noqa: A001 (Sphinx's name)
version = nmfkit.__version__
release = nmfkit.__version__

# -- Extensions ---------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
html_static_path = ["_static"]
# design.md is the engineers' note (Markdown, read on GitHub); the user guide carries its
# mathematics for users.
# examples/ is sphinx-gallery's input (its output is auto_examples/).
exclude_patterns = ["_build", "design.md", "examples", "**.ipynb_checkpoints"]

# -- API reference ------------------------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's Parameters section says the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- Cross-references ---------------------------------------------------------------------------
# Every reference is checked (nitpicky); no intersphinx, since the build machine reaches no
# inventory on the network. The references left unresolved are the types of other packages and
# the informal types numpydoc docstrings write (array-like, optional, ...): each is listed here.
nitpicky = True
nitpick_ignore_regex = [
    # other packages' classes and modules (numpy, scipy, scikit-learn, pandas, matplotlib, dask,
    # threadpoolctl)
    (r"py:.*", r"(numpy|np|scipy|sklearn|pandas|pd|matplotlib|dask|distributed)(\..*)?"),
    (r"py:.*", r"threadpoolctl(\..*)?"),
    (r"py:.*", r"(ndarray|DataFrame|Series|Figure|Axes|Generator|RandomState)"),
    # builtins written in numpydoc prose that Sphinx does not know without intersphinx
    (r"py:.*", r"(int|float|str|bool|dict|list|tuple|callable|object|None|bytes|range)"),
    (r"py:.*", r"(\w*Error|\w*Warning|Exception|os\.PathLike)"),
]

# -- doctest: run the >>> Examples of the API pages ---------------------------------------------
doctest_test_doctest_blocks = "default"
doctest_global_setup = """
import numpy as np
import nmfkit
"""

# -- Gallery ------------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",  # every example runs, not only plot_*.py
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
}
# matplotlib draws off screen; examples must not open windows
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")

# -- HTML ---------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "nmfkit"
html_short_title = "nmfkit"
html_show_sourcelink = False
html_theme_options = {
    "navbar_start": ["navbar-logo"],
    "navbar_center": ["navbar-nav"],
    "navbar_end": ["theme-switcher"],
    "header_links_before_dropdown": 6,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "logo": {"text": "nmfkit"},
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "performance": []}


def skip_metadata_routing(app, what, name, obj, skip, options):
    """Leave out the set_*_request methods scikit-learn generates for metadata routing: they
    are scikit-learn's, documented there, not nmfkit's."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", skip_metadata_routing)
