"""The token store: encrypted, owner-only, atomic, one refresher at a time."""

import threading
import time

from ingestion.sources.token_store import TokenStore, cipher


def test_a_token_round_trips_encrypted_and_owner_only(tmp_path):
    store = TokenStore(tmp_path / "credentials" / "t.json", cipher("test", "client-secret"), "acme")
    assert store.load() is None
    store.save("rft.first")
    store.save("rft.second")
    assert store.load().token == "rft.second"
    assert "rft." not in store.path.read_text()
    assert store.path.stat().st_mode & 0o077 == 0
    assert [p.name for p in store.path.parent.iterdir() if p.name.startswith(".")] == []  # no temp file left
    # another client secret cannot read it: ignored, not a crash
    assert TokenStore(store.path, cipher("test", "another-secret"), "acme").load() is None


def test_refreshers_take_turns(tmp_path):
    store = TokenStore(tmp_path / "t.json", cipher("test", "s"), "acme")
    order = []

    def second():
        with store.exclusive():
            order.append("second")

    with store.exclusive():
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]
