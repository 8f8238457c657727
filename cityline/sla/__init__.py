"""Deadlines (SLA): policies, working calendar, deadline rules, durable timers.

- ``policy``   — policies as data (``policies.toml``), :func:`load_policies`.
- ``calendar`` — China's working calendar (holidays, 调休), working hours, 24×7.
- ``rules``    — pure deadline maths: ``deadlines_for``, ``timers_for``, ``sla_outcome``.
- ``models`` / ``service`` / ``worker`` — timers as rows, claimed by a worker that
  fires them into the outbox (``cityline.outbox``) and delivers it after commit.
"""
