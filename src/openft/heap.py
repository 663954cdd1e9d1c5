"""The process's long-lived heap, kept out of the garbage collector's full passes.

CPython's cyclic collector stops the whole process (every thread: it holds the GIL) while it runs,
and its oldest generation holds everything a server keeps for good: its modules, classes and
functions, its routes, its database engine and, once a model is loaded, torch, transformers and
the model's modules. A full pass looks at each of them: about 120,000 objects and 55-60 ms in the
API process after start-up, 385,000 objects and 175-185 ms once torch and transformers are imported
(measured on a 2-core AMD EPYC). Under 50 clients one such pass ran every few seconds, each one a
stall of every request in flight: most of a create's 99th percentile.

``settle()`` runs one full pass and then moves what survived into the permanent generation
(``gc.freeze``), which later passes skip: they look only at what was made since. A frozen object is
still freed when its last reference goes; only a cycle among frozen objects would outlive its use.
So ``settle()`` first unfreezes everything, and is called wherever the long-lived heap changes:
once ``openft serve`` has started, and after the serving engine loads or evicts a model or an
adapter (an evicted model's cycles are collected there).

A training process does not call it: measured on a 135M SFT job, every full pass ran while the
libraries and the model loaded, and none in 130 s of training (a training loop's objects die young;
a server's requests in flight, many at once, keep theirs through the younger passes).
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect everything, then freeze what is left (see the module's text). A full pass over the
    whole heap: as long as one of the collector's own, so call it where the heap has just changed,
    never per request."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
