"""Lab 15a: shoppers for examples/shop.py, who check every answer they get.

Keep the class and its task methods; write the bodies that raise NotImplementedError.
home_page is written for you, as the pattern to follow. Read labs/15-load-testing/README.md.
Run: python -m unicorn.labs check 15 --part a
Try it, with `python -m unicorn -w 2 -b 127.0.0.1:8000 --chdir examples shop:app` running:
    python -m locust -f labs/15-load-testing/starter/locustfile.py --headless -u 8 -r 8 \
        --run-time 4s -H http://127.0.0.1:8000 --only-summary

locust runs this file in its own process: never import it (or locust) from a test or a
server, because importing locust patches the standard library's sockets with gevent's.
"""

from locust import FastHttpUser, between, tag, task

PRICES = {1: 4.50, 2: 12.00, 3: 38.00, 4: 21.90}  # what examples/shop.py sells, by item id


class Shopper(FastHttpUser):
    """A customer who browses more than they buy: one request per task, then a think."""

    # Think 0.1 to 0.5 s between two requests: a closed loop with pauses (section
    # "Users are not requests per second").
    wait_time = between(0.1, 0.5)

    @task(4)
    def home_page(self) -> None:
        """GET / must answer 200 with the page's heading; anything else is a failure."""
        with self.client.get("/", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif "<h1>The unicorn shop</h1>" not in response.text:
                response.failure("the page has no heading")

    @task(3)
    def list_items(self) -> None:
        """GET /api/items must answer 200 with a JSON list whose ids are 1, 2, 3, 4 in order."""
        raise NotImplementedError("Lab 15a: GET /api/items, fail unless the ids are [1, 2, 3, 4]")

    @task(3)
    def one_item(self) -> None:
        """GET /api/items/N for a random N of PRICES must answer 200 with item N (its "id").

        Give all of them one name in the statistics: name="/api/items/[id]".
        """
        raise NotImplementedError("Lab 15a: GET /api/items/N, fail unless its id is N")

    @task(1)
    def order(self) -> None:
        """POST /order with the form item=N&quantity=Q (urlencoded, with its Content-Type)
        must answer 201 Created with JSON whose "total" is round(PRICES[N] * Q, 2)."""
        raise NotImplementedError("Lab 15a: POST the form, fail unless 201 and the right total")

    @task(1)
    @tag("slow")
    def slow_page(self) -> None:
        """GET /slow must answer 200 with a body that starts with "waited"."""
        raise NotImplementedError("Lab 15a: GET /slow, fail unless the body starts with waited")
