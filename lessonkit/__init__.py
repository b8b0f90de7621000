"""lessonkit: the code behind the course notebooks.

Framework-free modules (text, data, sampling, generation, masks, plots, widgets, checkpoints) import
neither PyTorch nor TensorFlow; the models live as twins in ``lessonkit.torch`` and
``lessonkit.tensorflow`` with the same names.
"""

__version__ = "0.1.0"
