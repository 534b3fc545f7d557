"""Ground truth: what the marts must show, computed straight from the world, one module per mart domain.

Tests compare the marts with these figures end to end (world -> PostgreSQL and
sandboxes -> dlt -> dbt), so a bug anywhere on the way shows up as a mismatch.
They are computed independently of the SQL: from the world's own objects,
never from the warehouse.
"""
