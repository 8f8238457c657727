"""Epidemic data and rules (formats.md §6–§7): residents, tests, scans, trips, cases, risk
areas in; coverage, zones, passes, arrivals and contacts out. See README.md beside this file."""
