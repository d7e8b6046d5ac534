"""Lab 13's broken services: fds claimed by the wrong process, and readiness announced too soon."""
