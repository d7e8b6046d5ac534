"""Lab 15b's reference: Little's law applied to a closed load test (chapter 15, "Little's law").

unicorn has no code to call here, so this is the arithmetic itself. The throughput has two
ceilings: the users cannot send more than users / (service + think) requests a second, and the
server cannot finish more than concurrency / service. The lower one wins; then N = X * (R + Z),
the law for the whole loop, gives the response time R.
"""


def predict(workers: int, threads: int, service_time_s: float, users: int,
            think_time_s: float) -> tuple[float, float]:
    """(throughput in requests per second, median response time in seconds) of a closed test."""
    concurrency = workers * threads  # requests the server holds at once
    server_ceiling = concurrency / service_time_s
    users_ceiling = users / (service_time_s + think_time_s)  # every request served at once
    throughput = min(server_ceiling, users_ceiling)
    # N = X * (R + Z): what is not thinking is waiting. max() only guards rounding.
    response_time = max(service_time_s, users / throughput - think_time_s)
    return throughput, response_time
