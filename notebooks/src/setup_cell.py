# %% [markdown]
# The setup cell every notebook starts with: scripts/build_notebooks.py puts it where a source
# has a cell tagged `setup`. On Colab it clones pyproject.toml's [project.urls] Repository
# (tests/test_environment.py checks that the two agree).

# %%
# Setup: runs anywhere. On Colab it installs lessonkit first; elsewhere it only sets quiet logs.
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
if "google.colab" in sys.modules:  # only on Colab: fetch the course once, then import it from there
    if not os.path.isdir("/content/lessonkit-course"):
        print("Installing the course (once per Colab session)...")
        # !git clone -q --depth 1 https://github.com/lessonkit/lessonkit /content/lessonkit-course && pip install -q -e /content/lessonkit-course
    sys.path.insert(0, "/content/lessonkit-course")
    os.chdir("/content/lessonkit-course/notebooks")
