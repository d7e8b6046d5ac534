"""Lab 11's broken variants: an access log that a client can forge, log files that lose lines."""
