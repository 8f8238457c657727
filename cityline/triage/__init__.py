"""Triage: classify an order (kind, category, urgency, special groups, language) and explain why."""
