"""mi_lib: model inversion attacks and the adversarial-noise defense of Wen, Yiu and
Hui (IEEE CSR 2021), as a small library behind an executable book.

Modules, one idea each: ``profiles`` (quick / paper settings), ``data`` (digit
splits), ``models`` (target classifier, inversion models), ``training`` (loops and
model cache), ``attack`` (querying and reconstructing), ``defense`` (label modifier,
Algorithms 1 and 2), ``metrics``, ``paper`` (published numbers), ``experiments``
(table rows), ``plots`` and ``cli``.
"""

__version__ = "0.1.0"
