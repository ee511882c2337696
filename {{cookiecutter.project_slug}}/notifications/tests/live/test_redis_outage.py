"""Redis down, database fine: the REST API degrades and never answers 500."""

from http import HTTPStatus

import pytest

from notifications.tests.live.conftest import Daphne, manage
from notifications.tests.servers import RedisServer, http_json, stop

pytestmark = pytest.mark.live


def test_with_redis_down_writes_pass_tickets_answer_503_and_nothing_is_a_500(
    live_env, create_users, tmp_path
):
    redis = RedisServer(tmp_path)
    redis.start()
    env = {**live_env, "REDIS_URL": redis.url}
    alice = create_users("outage-alice")["outage-alice"]
    manage(env, "notify", "outage-alice", "Still here")
    token = alice["token"]
    server = Daphne(env, tmp_path / "daphne.log")
    try:
        status, listed = http_json(server.port, "GET", "/api/notifications/user/", token=token)
        assert status == HTTPStatus.OK
        notification_id = listed["results"][0]["id"]

        redis.stop()

        mark = f"/api/notifications/user/{notification_id}/mark_read/"
        assert http_json(server.port, "POST", mark, token=token)[0] == HTTPStatus.OK
        status, body = http_json(server.port, "GET", "/api/notifications/ws_auth/", token=token)
        assert status == HTTPStatus.SERVICE_UNAVAILABLE
        assert "retry" in body["detail"]
        credentials = {"username": "outage-alice", "password": "wrong"}
        status, _ = http_json(server.port, "POST", "/api/token/", body=credentials)
        assert status == HTTPStatus.UNAUTHORIZED
        # `notify` stores, and says in one line that the push could not be made.
        command = manage(env, "notify", "outage-alice", "While Redis is down")
        assert command.stdout.strip().isdigit()
        assert "Traceback" not in command.stderr
        [failure] = [line for line in command.stderr.splitlines() if "Push of" in line]
        assert "the events are stored (Redis unreachable: " in failure
    finally:
        stop(server.process)
        redis.stop()

    assert "Rate limit skipped" in server.log.read_text()
