"""Demo data for Backstock: a believable distributor with three warehouses and four months of
history, written so that `manage.py check_stock` finds nothing wrong with it.

- `catalogue`: names of products, suppliers, customers and the warehouse team.
- `events`: what a plan is made of — the rows that exist and the events of their history.
- `reference`, `plan`, `purchasing`: build the deterministic plan of one block.
- `replay`: writes a plan through the services — the demo at scale 1.
- `bulk` and `rows`: write plans with bulk inserts, applying the services' rules in memory — for
  `--scale`.
- `base`: the warehouses and team all blocks share.
"""
