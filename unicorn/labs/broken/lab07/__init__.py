"""Lab 7's broken masters: a handler that does the work itself, a handler that wakes nobody."""
