"""What one socket may send: the size of a frame and the rate of its commands."""

import time

# Largest client frame accepted; commands are tiny, so anything bigger is a mistake or abuse.
# daphne refuses larger frames before they are queued (`manage.py serve`).
MAX_FRAME_BYTES = 64 * 1024
# Commands refused in a row by the throttle before the socket is closed (CLOSE_TOO_MANY): a
# client that ignores `rate_limited` errors only fills the server's inbound queue.
MAX_REFUSED_IN_A_ROW = 100


class TokenBucket:
    """Allows `burst` commands at once and `rate` per second after that."""

    # One per socket: slots keep it to a few dozen bytes.
    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self, cost: float = 1.0) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True
