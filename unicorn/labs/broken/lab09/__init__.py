"""Lab 9's broken servers: a thread given each connection before its request; no keep-alive."""
