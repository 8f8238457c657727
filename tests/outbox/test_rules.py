"""The outbox's pure rules: back-off, signatures, what a dispatch notice says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cityline.outbox.rules import (
    DISPATCHED,
    MAX_ATTEMPTS,
    REDISPATCHED,
    after_failure,
    dispatch_text,
    local_text,
    retry_delay,
    sign,
    verify,
)

NOW = datetime(2020, 1, 28, 14, 0, tzinfo=UTC)


def test_back_off_doubles_from_30_seconds_and_stops_at_an_hour():
    waits = [retry_delay(n) for n in range(1, 11)]
    assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600)]


def test_a_message_is_given_up_after_the_last_attempt_and_not_before():
    assert after_failure(1, NOW) == ("pending", NOW + timedelta(seconds=30))
    assert after_failure(MAX_ATTEMPTS - 1, NOW)[0] == "pending"
    assert after_failure(MAX_ATTEMPTS, NOW)[0] == "failed"
    assert after_failure(3, NOW, max_attempts=3)[0] == "failed"


def test_the_signature_is_hmac_sha256_of_the_raw_body_in_hex():
    # The example GitHub publishes for the same scheme, so a receiver's usual code works.
    assert sign("It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


@pytest.mark.parametrize(("secret", "body", "header"), [
    ("s3cret", b'{"delivery":1}', None),
    ("wrong", b'{"delivery":1}', sign("s3cret", b'{"delivery":1}')),
    ("s3cret", b'{"delivery":2}', sign("s3cret", b'{"delivery":1}')),  # the body was changed
    ("s3cret", b'{"delivery":1}', sign("s3cret", b'{"delivery":1}').removeprefix("sha256=")),
])
def test_verification_refuses_anything_but_the_exact_signature(secret, body, header):
    assert not verify(secret, body, header)


def test_verification_accepts_the_signature_of_the_same_bytes():
    assert verify("s3cret", '{"单位":"曹家渡"}'.encode(), sign("s3cret", '{"单位":"曹家渡"}'.encode()))


def test_a_dispatch_notice_names_the_order_number_category_and_deadlines():
    zone = ZoneInfo("Asia/Shanghai")
    text = dispatch_text(DISPATCHED, "20200128-00042", category="就医", urgency="紧急",
                         accept_by=local_text(NOW + timedelta(minutes=15), zone),
                         resolve_by=local_text(NOW + timedelta(hours=2), zone))
    assert text == "新派工单 20200128-00042（就医，紧急），请于 2020-01-28 22:15 前签收，2020-01-29 00:00 前办结。"


def test_a_redispatch_says_so_and_an_order_without_deadlines_says_that():
    text = dispatch_text(REDISPATCHED, "20200128-00043", category=None, urgency=None, accept_by=None,
                         resolve_by=None)
    assert text == "改派工单 20200128-00043，暂无办理时限。"
