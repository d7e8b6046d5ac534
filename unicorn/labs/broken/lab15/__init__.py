"""Lab 15's broken variants: predictions that forget the load test is a closed loop."""
