"""Serve MathJax and the ipywidgets embed manager from the built book itself.

By default pages load both from public CDNs, so math and saved widgets stay blank
without a network. When `scripts/fetch_web_assets.py` has put copies under
`book/_static/vendor/`, this extension points the pages at those copies instead.
Without the copies the CDN defaults stay and the build is otherwise unchanged.
"""

from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parents[1] / "_static"
MATHJAX = "vendor/mathjax/tex-chtml.js"
REQUIRE = "vendor/requirejs/require.js"
WIDGETS = "vendor/html-manager/embed-amd.js"


def use_local_copies(app, config):
    missing = [p for p in (MATHJAX, REQUIRE, WIDGETS) if not (STATIC / p).is_file()]
    if missing:
        logger.info("local_assets: %s missing, using the CDN defaults", missing[0])
        return

    config.html_static_path.append(str(STATIC))
    config.mathjax_path = MATHJAX
    # Load order matters: the embed manager needs RequireJS first.
    config.nb_ipywidgets_js = {REQUIRE: {}, WIDGETS: {}}


def setup(app):
    app.connect("config-inited", use_local_copies)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
