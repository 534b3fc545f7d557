"""What a `sql_database` source selects: personal data handled inside PostgreSQL.

One policy per database, applied through dlt's two callbacks:
- `never_selected`: columns no mart needs that identify a person: dropped from
  the reflected table, so they are never read;
- `pseudonyms`: (table, new column) -> source column, selected as a salted
  SHA-256 computed by PostgreSQL, the same function as `pii.pseudonymise`
  (sha256(salt || lower(trim(value))), hex): the plain value never leaves it;
- `as_text`: (table, column) -> 'json' | 'hex': JSON cast to its text, bytea
  as hex, so each lands as one portable string column in DuckDB and BigQuery.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

_TEXT_OF = {
    "json": lambda col: sa.cast(col, sa.Text()),
    "hex": lambda col: sa.func.encode(col, "hex"),
}


@dataclass(frozen=True)
class SelectPolicy:
    never_selected: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pseudonyms: dict[tuple[str, str], str] = field(default_factory=dict)
    as_text: dict[tuple[str, str], str] = field(default_factory=dict)

    def adapt_table(self, table: sa.Table) -> sa.Table:
        """`table_adapter_callback`: the reflected table as the loaded one will look."""
        for name in self.never_selected.get(table.name, ()):
            if name in table.c:
                table._columns.remove(table.c[name])
        for table_name, name in [*self.as_text, *self.pseudonyms]:
            if table_name == table.name:
                table.append_column(sa.Column(name, sa.Text()), replace_existing=True)
        return table

    def query_adapter(self, salt: str):
        """`query_adapter_callback`: the select with pseudonyms hashed and conversions applied."""

        def adapt(query, table: sa.Table):
            pseudonyms = {p: source for (t, p), source in self.pseudonyms.items() if t == table.name}
            converted = {c: kind for (t, c), kind in self.as_text.items() if t == table.name}
            if not pseudonyms and not converted:
                return query
            kept = [
                _TEXT_OF[converted[c.name]](sa.literal_column(f'"{c.name}"')).label(c.name)
                if c.name in converted
                else c
                for c in table.c
                if c.name not in pseudonyms
            ]
            hashed = [
                sa.func.encode(
                    sa.func.sha256(
                        sa.func.convert_to(
                            sa.literal(salt) + sa.func.lower(sa.func.trim(sa.literal_column(f'"{source}"'))), "UTF8"
                        )
                    ),
                    "hex",
                ).label(name)
                for name, source in pseudonyms.items()
            ]
            return query.with_only_columns(*kept, *hashed)

        return adapt
