"""Reporting: figures and ``report.md`` from ``metrics.json`` and the checkpoints; nothing here trains.

* :mod:`.build` — ``build``: every figure and the report, and section 1.6's analysis;
* :mod:`.text` — the report's sentences for section 1.6; :mod:`.truth` — the ground truth (derivations/10);
* :mod:`.iw` — training on the bound (derivations/11); :mod:`.section14` — section 1.4 measured (12);
* :mod:`.gan` — section 2; :mod:`.plots` — every figure, drawn from host arrays or metrics.
"""
