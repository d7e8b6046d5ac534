"""Lab 5's broken servers: servers that are not sync workers, which the tests must tell apart."""
