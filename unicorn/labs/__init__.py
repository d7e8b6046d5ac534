"""The labs: one exercise per chapter of the book, checked by tests that run both ways.

A lab lives in `labs/NN-topic/` at the top of the repository (README, starter code, tests).
This package is the machinery around them: `catalog` finds the labs, `impl` is the LAB_IMPL
switch that tells a lab's tests which implementation to load, `testing` holds the helpers the
tests share, `runner` runs a lab's tests in a subprocess, `proof` shows that every lab's tests
pass against the reference, fail against the untouched starter and catch every broken variant,
and `cli` is `python -m unicorn.labs`. `reference/` adapts unicorn's own code to each lab's
interface; `broken/` holds the classic mistakes. No gunicorn counterpart.
"""
