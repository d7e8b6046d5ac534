"""Lab 15b: predict a closed load test from Little's law, before you run it.

Keep the interface; write the body that raises NotImplementedError.
Read labs/15-load-testing/README.md first. Run: python -m unicorn.labs check 15 --part b
"""


def predict(workers: int, threads: int, service_time_s: float, users: int,
            think_time_s: float) -> tuple[float, float]:
    """(throughput in requests per second, median response time in seconds) of a closed test.

    `users` clients each send one request, wait for its answer, think `think_time_s` seconds
    (on average), and send the next. The server holds workers * threads requests at once, and
    each request keeps its place for `service_time_s` seconds. Nothing else costs time: the
    network and the CPU are free, every request is alike (so its median response time is its
    response time), and the test has reached a steady state.
    """
    raise NotImplementedError("Lab 15b: the throughput is capped twice, by the users and by "
                              "the server; then Little's law gives the response time")
