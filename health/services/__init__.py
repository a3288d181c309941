"""Health writes. One module per area: ``models`` (health model versions), ``snapshots`` (daily recompute),
``alerts`` (risk tasks, notifications, Slack), ``pulses``."""
