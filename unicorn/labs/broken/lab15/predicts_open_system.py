"""Broken: predicts a closed load test as if it were open, with users / think time as arrivals.

The open model's formulas are right for traffic that arrives whatever happens: a rate
lambda of users / think time, a utilisation rho = lambda / ceiling, a response time
S / (1 - rho) that grows without bound as rho nears 1. But locust's users wait for each
answer before they think again, so they never send users / think time: the time spent waiting
is time not spent sending. Thirty users thinking 0.3 s are predicted at 100 requests a second
when they can send at most 30 / 0.35, and a saturated sync server is predicted to answer
never, where Little's law says 0.45 s. The prediction breaks N = X * (R + Z).
"""

REPLACES = "predict"
CAUGHT_BY = ("test_15b_known_cases", "test_15b_the_closed_loop_holds")


def predict(workers: int, threads: int, service_time_s: float, users: int,
            think_time_s: float) -> tuple[float, float]:
    ceiling = workers * threads / service_time_s
    arrivals = users / think_time_s  # the mistake: as if nobody waited for an answer
    utilisation = arrivals / ceiling
    if utilisation >= 1:
        return ceiling, float("inf")  # an open queue that grows for ever
    return arrivals, service_time_s / (1 - utilisation)
