"""Shoppers for examples/shop.py: the load that `nox -s load` and the chapter "Load testing" use.

    python -m unicorn -w 2 -b 127.0.0.1:8000 --chdir examples shop:app &
    locust -f locustfile.py --headless -u 20 -r 10 --run-time 10s --host http://127.0.0.1:8000

Each simulated user loops: pick a task (weighted), send its request, check the
answer, think for a moment, repeat. A wrong answer counts as a failure, not
only an error status: a server that answers 200 with the wrong body is broken.
`--tags slow` keeps only the slow endpoint, to compare worker classes on it.

Run locust as its own process, never import it into a test or a server: on
import it patches the standard library's sockets and threads with gevent's.
"""

import random
from urllib.parse import urlencode

from locust import FastHttpUser, between, tag, task

PRICES = {1: 4.50, 2: 12.00, 3: 38.00, 4: 21.90}  # what examples/shop.py sells


class Shopper(FastHttpUser):
    """A customer who browses more than they buy.

    FastHttpUser rather than HttpUser: its client costs a fraction of the CPU
    per request, and here the load generator shares the server's two cores.
    """

    # Think time between two requests of one user: this makes the test a closed
    # loop with pauses, so users / (response time + think time) = requests/s.
    wait_time = between(0.1, 0.5)

    @task(4)
    def home_page(self) -> None:
        with self.client.get("/", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif "<h1>The unicorn shop</h1>" not in response.text:
                response.failure("the page has no heading")

    @task(3)
    def list_items(self) -> None:
        with self.client.get("/api/items", catch_response=True) as response:
            items = json_answer(response, 200)
            if items is not None and [item.get("id") for item in items] != list(PRICES):
                response.failure(f"wrong list of items: {response.text[:60]!r}")

    @task(3)
    def one_item(self) -> None:
        number = random.choice(list(PRICES))
        # name= groups /api/items/1, /2, ... into one line of the statistics.
        with self.client.get(f"/api/items/{number}", name="/api/items/[id]",
                             catch_response=True) as response:
            item = json_answer(response, 200)
            if item is not None and item.get("id") != number:
                response.failure(f"asked for item {number}, got {response.text[:60]!r}")

    @task(1)
    def order(self) -> None:
        number, quantity = random.choice(list(PRICES)), random.randint(1, 5)
        form = urlencode({"item": number, "quantity": quantity})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        with self.client.post("/order", data=form, headers=headers,
                              catch_response=True) as response:
            receipt = json_answer(response, 201)
            if receipt is not None and receipt.get("total") != round(PRICES[number] * quantity, 2):
                response.failure(f"wrong total for {form}: {response.text[:60]!r}")

    @task(1)
    @tag("slow")
    def slow_page(self) -> None:
        with self.client.get("/slow", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif not response.text.startswith("waited"):
                response.failure("not the slow page")


def json_answer(response, status: int):
    """The body as JSON if the status is ``status``; otherwise mark a failure and return None.

    A body that is not JSON is a failure too, not an exception: an exception
    in a task would leave the request out of the statistics altogether.
    """
    if response.status_code != status:
        response.failure(f"status {response.status_code}: {response.text[:60]!r}")
        return None
    try:
        return response.json()
    except ValueError:
        response.failure(f"not JSON: {response.text[:60]!r}")
        return None
