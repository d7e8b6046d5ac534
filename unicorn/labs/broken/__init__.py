"""Classic mistakes, kept so the proof can show that each lab's tests catch them.

`labNN/NAME.py` is selected by LAB_IMPL=broken:NAME. It stands in for the lab module named by its
REPLACES constant (the lab's other modules come from the reference), and names in CAUGHT_BY the
tests that must fail because of the mistake. Its docstring says what the mistake is, why people
make it, and what it costs.
"""
