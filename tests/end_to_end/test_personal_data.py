"""No personal data past raw: the demo warehouse's staging, intermediate, seed and mart schemas are scanned.

Every text column of every table and view outside the `raw_*` datasets is matched
against e-mail and phone-number patterns and against the world's own people: the
full names of the app's users and of the Metabase staff, and the users' street
addresses (sign-up and later moves, DMS applications). One query per relation;
a hit is reported as schema.table.column and what it looked like, never the value.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from sandbox.vendors.dms.world import build as build_dms
from sandbox.vendors.metabase.world import build as build_metabase
from sandbox.world import catalog

# Values are lower-cased before matching. A Message-ID (<id@host>, Brevo's message_id) is not an address.
EMAIL = r"(^|[^<a-z0-9._%+-])[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}"
PHONE = r"(^|[^a-z0-9])(\+33 ?|0033 ?|0)[1-9]([ .-]?[0-9]{2}){4}([^a-z0-9]|$)"  # French numbers, not inside ids
# Columns whose name says they hold what stg_app__users and the other staging models must drop
PERSONAL_COLUMN = r"(birth|civility|first_?name|last_?name|full_?name|phone|street|^e?mail$|^address$)"
TEXT_TYPES = ("VARCHAR", "JSON")


def _alternation(needles: set[str]) -> str:
    """A whole-word alternation of the lower-cased needles, for values lower-cased in SQL (RE2: one automaton)."""
    words = "|".join(re.escape(n.lower()) for n in sorted(needles, key=len, reverse=True))
    return rf"(^|[^a-z0-9à-ÿ])({words})([^a-z0-9à-ÿ]|$)"


@pytest.fixture(scope="module")
def needles(demo) -> dict[str, str]:
    world = demo.world
    people = [(u.first_name, u.last_name) for u in world.users]
    people += [(u["first_name"], u["last_name"]) for u in world.slice("metabase", build_metabase).users if u["id"] != 1]
    names = {f"{first} {last}" for first, last in people} | {f"{last} {first}" for first, last in people}
    addresses = {m.address for u in world.users for m in u.moves if m.address not in catalog.GARBAGE_ADDRESSES}
    addresses |= {d["address"]["streetAddress"] for d in world.slice("dms", build_dms) if d["kind"] == "jeune"}
    assert len(names) > 500 and len(addresses) > 500
    return {
        "e-mail": EMAIL,
        "phone number": PHONE,
        "person name": _alternation(names),
        "street address": _alternation(addresses),
    }


@pytest.fixture(scope="module")
def relations(demo) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(schema, table) -> [(column, type)] for every relation past raw."""
    rows = demo.query(
        """
        select table_schema, table_name, column_name, data_type
        from information_schema.columns
        where table_schema not like 'raw\\_%' escape '\\'
          and table_schema not in ('information_schema', 'pg_catalog')
          and table_catalog = current_database()
        order by table_schema, table_name, ordinal_position
        """
    )
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        found.setdefault((schema, table), []).append((column, data_type))
    return found


def test_the_scan_covers_every_layer(relations):
    schemas = {schema for schema, _ in relations}
    assert {"staging", "intermediate", "marts_regional", "marts_support", "marts_bi"} <= schemas
    assert sum(1 for schema, _ in relations if schema == "staging") > 30


def test_no_column_past_raw_is_named_for_personal_data(relations):
    named = [
        f"{schema}.{table}.{column}"
        for (schema, table), columns in relations.items()
        for column, _ in columns
        if re.search(PERSONAL_COLUMN, column) and not column.endswith("_hash")
    ]
    assert not named, f"columns named for personal data past raw: {named}"


def test_no_email_phone_name_or_street_address_past_raw(demo, relations, needles):
    hits = []
    with duckdb.connect(str(demo.warehouse), read_only=True) as conn:
        for (schema, table), columns in relations.items():
            texts = [c for c, t in columns if t in TEXT_TYPES or t.endswith("[]") or t.startswith(("STRUCT", "MAP"))]
            hits += _scan(conn, schema, table, texts, needles)
    assert not hits, "personal data past raw:\n" + "\n".join(hits)


def test_the_scan_finds_what_raw_holds(demo, needles):
    """Controls: raw keeps the street address and the personal collections' names; made-up values of each kind."""
    with duckdb.connect(str(demo.warehouse), read_only=True) as conn:
        assert _scan(conn, "raw_app", "user", ["address"], needles) == ["raw_app.user.address: street address"]
        assert _scan(conn, "raw_metabase", "collection", ["name"], needles) == [
            "raw_metabase.collection.name: person name"
        ]
    user = demo.world.users[0]
    values = {
        "email": f"Contact: {user.email.upper()}",
        "phone": "appelez le 06 12 34 56 78",
        "phone_e164": f"tel={user.phone}",
        "name": f"Ticket de {user.last_name} {user.first_name}",
        "hash": "0612345678abcdef0612345678",  # digits inside an id are no phone number
        "siret": "12345678901234",
        "message_id": "<ae765cd5a236c00f@smtp-relay.mailin.fr>",
    }
    with duckdb.connect() as conn:
        conn.execute("create table control as select " + ", ".join(f"{_literal(v)} as {k}" for k, v in values.items()))
        assert _scan(conn, "main", "control", list(values), needles) == [
            "main.control.email: e-mail",
            "main.control.name: person name",
            "main.control.phone: phone number",
            "main.control.phone_e164: phone number",
        ]


def _scan(conn, schema: str, table: str, columns: list[str], needles: dict[str, str]) -> list[str]:
    """`schema.table.column: kind` for each text column holding a value of a kind; one query for the relation."""
    if not columns:
        return []
    # The columns unpivoted to (column, lower-cased distinct value): each pattern is compiled once per relation
    cast = ", ".join(f"cast({_quote(c)} as varchar) as {_quote(c)}" for c in columns)
    counts = ", ".join(f"count(*) filter (where regexp_matches(v, {_literal(p)}))" for p in needles.values())
    rows = conn.execute(
        f"""
        select col, {counts}
        from (
            select distinct col, lower(v) as v
            from (unpivot (select {cast} from {_quote(schema)}.{_quote(table)})
                  on {", ".join(_quote(c) for c in columns)} into name col value v)
        )
        group by col
        order by col
        """
    ).fetchall()
    return [
        f"{schema}.{table}.{column}: {kind}"
        for column, *found in rows
        for kind, n in zip(needles, found, strict=True)
        if n
    ]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
