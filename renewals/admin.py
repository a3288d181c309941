"""Contract lines are tenant data: the Django admin runs with no tenant context, where every query on a
tenant model raises (see docs/dangerous.md), so nothing of this app is registered here. Contracts are
read and written through `renewals.selectors` / `renewals.services` (pages, API, imports)."""
