"""Sphinx configuration of the course site (`make site`; scripts/build_site.py stages the sources).

The site is built from the executed notebooks as they are (nothing runs), with MyST-NB and
sphinx-book-theme. Everything a page loads comes from the site itself: MathJax, the Jupyter widget
HTML manager and the Noto fonts for Devanagari and Kannada are installed with npm into build/npm
and copied to ``_static/`` (no CDN, so the site reads offline).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "lessonkit"
author = "the lessonkit authors"
copyright = "lessonkit authors, MIT licence"
language = "en"

extensions = ["myst_nb", "lessonkit_site"]
exclude_patterns = ["_build", "_vendor", "README.md", "**.ipynb_checkpoints"]  # README: lessons.md
# The solutions notebooks jump from the title to ### exercise headings, as in JupyterLab.
suppress_warnings = ["myst.header"]

# The notebooks are shown with the outputs they were saved with.
nb_execution_mode = "off"
# A lessonkit widget's output carries a static HTML view (a quiz with its answers folded, a panel's
# last chart): show that rather than a widget that would need a kernel. Outputs that are widgets
# only (training progress bars) are drawn from their saved state by the local HTML manager.
nb_mime_priority_overrides = [("html", "text/html", 5)]
nb_ipywidgets_js = {"widgets/embed.js": {}}
nb_merge_streams = True

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3  # stable links to every section (#the-slug of its title)

mathjax_path = "mathjax/tex-chtml.js"

html_theme = "sphinx_book_theme"
html_title = "lessonkit"
html_static_path = ["_static", "_vendor"]
html_css_files = ["lessonkit.css"]
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "navigation_with_keys": False,
}
# A first visit has no stored light/dark choice: without a default the theme logs a console error.
html_context = {"default_mode": "light"}
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False
