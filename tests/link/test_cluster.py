"""Clustering with cannot-link: worked by hand on small graphs (the accuracy it buys is measured on the
synthetic and FEBRL stores in test_link.py and test_febrl.py, and in docs/linkage.md)."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa

from triangulate.link.cluster import close_dates, cluster


def people(records: dict, pairs: list, plain: bool = True):
    """Run the clustering on named records ({key: (dob, nhs)}) and pairs [(key, key, p)]: the partition
    as a set of frozensets of keys, and the merges refused."""
    keys = list(records)
    node = {k: i for i, k in enumerate(keys)}
    a = np.array([node[x] for x, _, _ in pairs], dtype=np.int64)
    b = np.array([node[y] for _, y, _ in pairs], dtype=np.int64)
    p = np.array([q for *_, q in pairs])
    dob = pa.array([records[k][0] for k in keys], pa.string()) if plain else None
    nhs = pa.array([records[k][1] for k in keys], pa.string()) if plain else None
    found = cluster(pa.array(keys), a, b, p, dob, nhs)
    groups: dict = {}
    for key, cid in zip(found.table["record_key"].to_pylist(), found.table["cluster_id"].to_pylist()):
        groups.setdefault(cid, set()).add(key)
    assert all(cid == min(members) for cid, members in groups.items())  # the id is the smallest key
    return {frozenset(g) for g in groups.values()}, found.refused


def test_a_record_without_a_date_of_birth_does_not_chain_two_namesakes():
    # Ali Ismail born 1996 (two records) and Ali Ismail born 1979 (two records); a fifth Ali Ismail record
    # with no date of birth scores 0.6 with one and 0.58 with the other.
    records = {"a1": ("1996-04-02", None), "a2": ("1996-04-02", None), "b": (None, None),
               "c1": ("1979-11-20", None), "c2": ("1979-11-20", None)}
    pairs = [("a1", "a2", 0.99), ("c1", "c2", 0.99), ("a1", "b", 0.6), ("b", "c1", 0.58)]
    found, refused = people(records, pairs)
    assert found == {frozenset({"a1", "a2", "b"}), frozenset({"c1", "c2"})}
    assert refused == 1
    # Without the dates (linkage on encodings) the threshold alone decides: one cluster.
    found, refused = people(records, pairs, plain=False)
    assert found == {frozenset(records)} and refused == 0


def test_dates_within_one_keystroke_are_one_person_and_a_pair_that_saw_both_dates_is_taken():
    for other in ("1990-09-18", "1990-09-31", "1990-13-09", "1990-09-13"):
        records = {"x": ("1990-09-13", None), "bridge": (None, None), "y": (other, None)}
        found, refused = people(records, [("x", "bridge", 0.7), ("bridge", "y", 0.7)])
        assert found == {frozenset(records)} and refused == 0, other
    # Two dates far apart, but the pair itself compared them and still scored above the threshold
    # (FEBRL's corrupted dates): the model weighed them, so the pair is taken.
    records = {"x": ("1958-10-14", None), "y": ("1956-01-11", None)}
    found, refused = people(records, [("x", "y", 0.7)])
    assert found == {frozenset(records)} and refused == 0


def test_different_nhs_numbers_are_not_joined_through_a_record_without_one():
    records = {"x": (None, "4010232137"), "bridge": (None, None), "y": (None, "9434765919")}
    found, refused = people(records, [("x", "bridge", 0.9), ("bridge", "y", 0.8)])
    assert found == {frozenset({"x", "bridge"}), frozenset({"y"})} and refused == 1
    # A pair whose two records both carry a number was scored on them: taken on its probability.
    records = {"x": (None, "4010232137"), "y": (None, "9434765919")}
    assert people(records, [("x", "y", 0.8)])[0] == {frozenset(records)}
    # A shared number anywhere in the two clusters lets them join.
    records = {"x1": (None, "4010232137"), "x2": (None, "9434765919"), "bridge": (None, None),
               "y": (None, "9434765919")}
    found, _ = people(records, [("x1", "x2", 0.95), ("x1", "bridge", 0.9), ("bridge", "y", 0.8)])
    assert found == {frozenset(records)}


def test_the_most_probable_pair_wins_whatever_order_the_engine_returns_them_in():
    # The bridge goes to the cluster it scores higher with, however the pairs are listed.
    records = {"a": ("1996-04-02", None), "bridge": (None, None), "c": ("1979-11-20", None),
               "d": ("1985-01-01", "4010232137"), "e": (None, "4010232137")}
    pairs = [("a", "bridge", 0.62), ("bridge", "c", 0.91), ("d", "e", 0.99)]
    expected = {frozenset({"bridge", "c"}), frozenset({"a"}), frozenset({"d", "e"})}
    rng = random.Random(7)
    for _ in range(6):
        rng.shuffle(pairs)
        assert people(records, pairs) == (expected, 1)


def test_close_dates():
    assert close_dates("1990-09-13", "1990-09-13")
    assert close_dates("1990-09-13", "1991-09-13")        # one digit
    assert close_dates("1990-09-13", "1909-09-13")        # adjacent digits swapped
    assert close_dates("1990-03-09", "1990-09-03")        # day and month swapped
    assert not close_dates("1990-09-13", "1991-09-14")    # two digits
    assert not close_dates("1996-04-02", "1979-11-20")


def test_on_encodings_dates_agree_only_when_their_hashes_are_equal():
    # Keyed hashes show no keystrokes: dates one digit apart are as different as any others.
    records = {"x": ("9f2c", None), "bridge": (None, None), "y": ("9f2d", None)}
    keys = list(records)
    found = cluster(pa.array(keys), np.array([0, 1]), np.array([1, 2]), np.array([0.9, 0.8]),
                    pa.array([records[k][0] for k in keys], pa.string()), pa.array([None] * 3, pa.string()),
                    exact=True)
    assert found.refused == 1
    assert len(set(found.table["cluster_id"].to_pylist())) == 2
