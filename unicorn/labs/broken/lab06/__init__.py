"""Lab 6's broken pre-fork servers: a connection nobody finishes closing, a zombie nobody reaps."""
