"""The outbox: things to tell the outside world once a change has committed.

Shared infrastructure under every domain (it imports only the kernel):

- ``models``   — outbox messages, a unit's console notifications, webhooks.
- ``service``  — :func:`enqueue` a message in the writer's own transaction.
- ``worker``   — claim due messages, deliver them after commit, back off and retry.
- ``senders``  — how a message is delivered: JSON lines (log), webhooks (HTTP), memory.
- ``notify``   — the notices the loop sends (an order dispatched to a unit).
- ``webhooks`` — a unit's webhooks (add, list, remove) and their signature.
- ``rules``    — pure decisions: back-off, signatures, the texts of notices.
- ``schemas``  — what crosses the API (the routes are ``accounts/outbox_api.py``: they
  need who is asking and the unit tree, which sit above this package).
"""
