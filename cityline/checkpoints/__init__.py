"""Road checkpoints (卡口): vehicles and people registered, closed-loop tasks for vehicles from
risk areas, warnings when they stay past their time. The rules are in ``rules.toml``."""
