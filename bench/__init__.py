"""Herald's benchmark: the whole stack measured against the broker's own ceiling (issue 6).

``python -m bench`` (``python -m bench [--quick] [--only NAME] [--json PATH]``); see
``docs/benchmark.md`` for what each figure means.
"""
