"""The framework-free half of every model: ``models/gpt2.py`` is GPT-2 without a framework.

Each module has the same name as its twins in :mod:`lessonkit.torch` and :mod:`lessonkit.tensorflow`
and holds what both share: the config dataclass, weight shapes and parameter counts, input checks,
Hugging Face key translation, and behaviour that needs no framework.
"""

from . import bert, char_rnn, gpt2, seq2seq, transformer  # noqa: F401  (registers the configs)
