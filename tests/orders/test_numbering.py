"""The day's order numbers under concurrent creates: unique; on PostgreSQL not held until the
order that took one commits (the numbering commits at once), so a rolled-back order leaves a gap."""

import pytest
from sqlalchemy import text

from cityline.db import transaction
from cityline.orders.service import allocate_numbers


def test_a_number_taken_is_not_locked_until_its_order_commits(sessions):
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: numbers there come in the order's transaction, gapless")
    slow = sessions()  # a create still running: it has its number, it has not committed
    try:
        first = allocate_numbers(slow, "20261206")
        with transaction(sessions) as other:
            other.execute(text("SET LOCAL lock_timeout = '2s'"))  # before: waited for the slow create
            second = allocate_numbers(other, "20261206")
        slow.rollback()  # the slow create fails: its number stays used, a gap
    finally:
        slow.close()
    with transaction(sessions) as session:
        assert (first, second, allocate_numbers(session, "20261206", 3)) == (1, 2, 3)
        assert allocate_numbers(session, "20261206") == 6
