"""Lab 16's broken tools: a checker and a probe that look right and measure nothing."""
