"""Deadlines (SLA): policies, working calendar, deadline rules, durable timers.

- ``policy``   — policies as data (``policies.toml``: by urgency, channel, category, groups;
  and ``[zones]``, what a sealed or controlled zone raises an order to), :func:`load_policies`.
- ``calendar`` — China's working calendar (holidays, 调休), working hours, 24×7.
- ``rules``    — pure deadline maths: ``deadlines_for``, ``timers_for``, ``sla_outcome``.
- ``models`` / ``service`` / ``worker`` — timers as rows, claimed by a worker that
  fires them into the outbox (``cityline.outbox``) and delivers it after commit.
"""
