"""Creating something twice is safe: the ``Idempotency-Key`` of a create request (and the
``external_id`` of an order) names one thing, made once.

The first request with a key reserves it (a row in ``idempotency_keys``, unique per
scope and key, inserted with ``ON CONFLICT DO NOTHING`` in the use case's own
transaction) and records what it made; a retry finds the row and gets that thing
again (200 instead of 201). A concurrent retry waits on the database's unique index
until the first request commits or rolls back, then reads the winner — never a
check-then-insert, so never a 500. The same key with a different request is refused
(409) naming the fields that differ; the row keeps keyed digests of each field, not
the values. Keys expire after :data:`~cityline.idempotency.rules.RETENTION` (24 h).
"""
