"""The linkage model: how identity records are prepared, compared and blocked.

Everything here is plain data (SQL text, Splink settings) so the same model can be trained by
``link``, stored as JSON in the store and loaded again later, for example by a screening job that
scores a day's court list against the linked records with ``predict_between``. Preparation is SQL
run on the store's identity zone, so the linkage input can always be rebuilt from the store and
never needs saving.
"""

from __future__ import annotations

import csv
from importlib import resources

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

#: Columns of the prepared linkage input, in order.
INPUT_COLUMNS = ("unique_id", "source_table", "source_system", "source_record_id", "given_name",
                 "given_name_canonical", "family_name", "full_name", "dob", "sex", "postcode", "nhs_number",
                 "pnc_id")


def nicknames() -> list[tuple[str, str]]:
    """(short form, name) pairs from ``data/nicknames.csv`` (general knowledge, see its header)."""
    text = resources.files("triangulate.link").joinpath("data/nicknames.csv").read_text("utf-8")
    rows = csv.reader(line for line in text.splitlines() if not line.startswith("#"))
    next(rows)
    return [(a, b) for a, b in rows]


def _clean_name(column: str) -> str:
    # Case, accents, punctuation, hyphens and spaces vary by agency system and clerk; none of them
    # tell two people apart, so all are removed before comparing.
    return f"nullif(regexp_replace(lower(strip_accents({column})), '[^a-z]', '', 'g'), '')"


def prepare_sql(tables: dict[str, bool]) -> str:
    """SQL (DuckDB) that unions the identity zone into one linkage input table.

    ``tables`` maps each identity table to whether it has a PNC ID column. Needs a table
    ``link_nicknames(nickname, name)`` visible to the connection.
    """
    parts = []
    for table, has_pnc in tables.items():
        pnc = "upper(pnc_id)" if has_pnc else "NULL"
        parts.append(
            f"SELECT record_key AS unique_id, '{table}' AS source_table, source_system, source_record_id, "
            f"{_clean_name('given_name')} AS given_name, {_clean_name('family_name')} AS family_name, "
            "strftime(date_of_birth, '%Y-%m-%d') AS dob, "
            "CASE WHEN upper(sex) IN ('1', 'M') THEN 'M' WHEN upper(sex) IN ('2', 'F') THEN 'F' END AS sex, "
            "nullif(upper(trim(postcode)), '') AS postcode, nullif(nhs_number, '') AS nhs_number, "
            f"nullif({pnc}, '') AS pnc_id FROM identity.{table}"
        )
    union = "\nUNION ALL\n".join(parts)
    return (
        "SELECT u.unique_id, u.source_table, u.source_system, u.source_record_id, u.given_name, "
        "coalesce(n.name, u.given_name) AS given_name_canonical, u.family_name, "
        "given_name_canonical || ' ' || u.family_name AS full_name, u.dob, u.sex, "
        f"u.postcode, u.nhs_number, u.pnc_id FROM ({union}) u "
        "LEFT JOIN link_nicknames n ON n.nickname = u.given_name"
    )


def name_comparison() -> cl.CustomComparison:
    """Given and family name compared together, so a full name's own frequency sets its weight.

    Compared apart (one comparison each), an exact "Mohamed Ahmed" scored as the product of two
    frequencies, as if names were drawn independently; they are not (names run in families and
    communities), so pairs of different people with a common full name and no date of birth on one
    side scored 0.9 or more and chained people together. Measured in docs/linkage.md.
    """
    given, family = "given_name", "family_name"
    return cl.CustomComparison(
        output_column_name="name",
        comparison_description="given and family name",
        comparison_levels=[
            cll.And(cll.NullLevel(given), cll.NullLevel(family)),
            # short forms expanded (Bill, William) before the full name is made
            cll.ExactMatchLevel("full_name").configure(
                tf_adjustment_column="full_name", tf_adjustment_weight=1.0,
                label_for_charts="Same full name (short forms expanded)"),
            cll.CustomLevel(f'"{given}_l" = "{family}_r" AND "{family}_l" = "{given}_r"',
                            label_for_charts="Given and family names swapped", base_dialect_str="duckdb"),
            cll.And(cll.DamerauLevenshteinLevel(given, 1), cll.DamerauLevenshteinLevel(family, 1))
            .configure(label_for_charts="Both names within one typo"),
            cll.And(cll.JaroWinklerLevel(given, 0.92), cll.JaroWinklerLevel(family, 0.92))
            .configure(label_for_charts="Both names similar (Jaro-Winkler 0.92)"),
            cll.And(cll.JaroWinklerLevel(given, 0.80), cll.JaroWinklerLevel(family, 0.80))
            .configure(label_for_charts="Both names alike (Jaro-Winkler 0.80)"),
            cll.ExactMatchLevel(family).configure(tf_adjustment_column=family, tf_adjustment_weight=1.0,
                                                  label_for_charts="Same family name only"),
            cll.ExactMatchLevel("given_name_canonical").configure(
                tf_adjustment_column="given_name_canonical", tf_adjustment_weight=1.0,
                label_for_charts="Same given name only"),
            cll.ElseLevel(),
        ],
    )


#: Columns whose term frequencies the model uses (a scorer outside ``link`` must compute them).
TF_COLUMNS = ("full_name", "family_name", "given_name_canonical")


def date_of_birth_comparison() -> cl.CustomComparison:
    """Date of birth with a level for day and month transposed (no built-in level does this)."""
    transposed = (
        "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
        "AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)"
    )
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_description="date of birth, with a day/month transposed level",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel(transposed, label_for_charts="Day and month transposed", base_dialect_str="duckdb"),
            cll.DamerauLevenshteinLevel("dob", 1).configure(label_for_charts="One character out"),
            cll.AbsoluteDateDifferenceLevel("dob", input_is_string=True, threshold=1, metric="year")
            .configure(label_for_charts="Within a year"),
            cll.ElseLevel(),
        ],
    )


#: Rules that choose which pairs are scored. Measured counts and the reasons are in
#: docs/linkage.md; each rule catches true pairs the others miss.
PREDICTION_BLOCKING_RULES = [
    block_on("nhs_number"),
    block_on("pnc_id"),
    block_on("given_name_canonical", "family_name"),
    block_on("family_name", "dob"),
    block_on("given_name", "dob"),
    # swapped names: neither name rule above pairs them
    "l.given_name = r.family_name AND l.family_name = r.given_name",
    block_on("dob", "postcode"),
    # A typo in one name and a wrong or missing date of birth: the other name with the postcode,
    # or with the first letters of the mistyped name within the postcode district. Measured on FEBRL
    # 1-3 with names, date of birth and postcode only, these raised the share of true pairs compared
    # from 0.930/0.894/0.874 to 0.980/0.962/0.951, for 8% more pairs scored on a 20,000-person
    # synthetic store (docs/linkage.md).
    block_on("family_name", "postcode"),
    block_on("given_name", "postcode"),
    block_on("given_name", "substr(family_name, 1, 2)", "split_part(postcode, ' ', 1)"),
    block_on("family_name", "substr(given_name, 1, 2)", "split_part(postcode, ' ', 1)"),
    # Typos in both names: the date of birth and the first letter of either.
    block_on("dob", "substr(family_name, 1, 1)"),
    block_on("dob", "substr(given_name, 1, 1)"),
]

#: Rules a pair must pass to count as certainly the same person, used only to estimate how often
#: two records drawn at random belong to one person (the prior).
DETERMINISTIC_RULES = [
    block_on("nhs_number", "dob"),
    block_on("pnc_id", "dob"),
    block_on("given_name", "family_name", "dob", "postcode"),
]
#: Share of true pairs the deterministic rules are assumed to find (documented in docs/linkage.md).
DETERMINISTIC_RECALL = 0.8

#: Training blocks for expectation maximisation: the first trains date of birth, postcode, sex and
#: the numbers; the second trains the names. Date of birth alone (or postcode alone) would make
#: blocks of tens of millions of pairs at a million records, so the second adds the postcode's
#: first three characters (measured at 1M records: 19M and 15M pairs; dob alone 46M).
EM_BLOCKING_RULES = [
    block_on("given_name", "family_name"),
    block_on("dob", "substr(postcode, 1, 3)"),
]


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            name_comparison(),
            date_of_birth_comparison(),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("nhs_number"),
            cl.ExactMatch("pnc_id"),
        ],
        blocking_rules_to_generate_predictions=PREDICTION_BLOCKING_RULES,
        additional_columns_to_retain=["source_table", "source_system", "source_record_id"],
        retain_intermediate_calculation_columns=True,
        max_iterations=20,
    )


# --- linkage on encodings (``encode``): no plain identity value reaches the linker ----------------

#: Dice coefficients of two encodings at which the encoded comparison's levels start, highest first.
#: Measured on FEBRL 3 (docs/linkage.md, "Linkage without names"): the records of one person have a
#: median Dice of 0.90 (a quarter below 0.77); two people a median of 0.39, one pair in a thousand
#: above 0.61 (sex and the century of birth set the same bits for most people).
DICE_LEVELS = (0.98, 0.95, 0.90, 0.83, 0.75, 0.65)

def _dice(left: str, right: str, left_bits: str, right_bits: str) -> str:
    return f"2.0 * bit_count({left}::BIT & {right}::BIT) / ({left_bits} + {right_bits})"


_DICE = _dice('"clk_l"', '"clk_r"', '"clk_bits_l"', '"clk_bits_r"')


def encoded_comparison() -> cl.CustomComparison:
    """The encodings compared by their Dice coefficient (``DICE_LEVELS``)."""
    levels = [cll.CustomLevel('"clk_bits_l" = 0 OR "clk_bits_r" = 0', base_dialect_str="duckdb").configure(
        is_null_level=True, label_for_charts="An encoding is empty")]
    for d in DICE_LEVELS:
        levels.append(cll.CustomLevel(f"{_DICE} >= {d}", label_for_charts=f"Dice >= {d}", base_dialect_str="duckdb"))
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(output_column_name="clk", comparison_description="identity encodings (Dice)",
                               comparison_levels=levels)


def encoded_blocking_rules() -> list:
    """The plain rules (``PREDICTION_BLOCKING_RULES``) on keyed hashes of the same fields
    (``encode.BLOCKING_KEYS``, in its order): each key equal, and the swapped names against the given order."""
    from .encode import BLOCKING_KEYS

    return [block_on("nhs_number_hmac"), block_on("pnc_id_hmac"),
            *[block_on(k) if k != "k_name_order" else "l.k_name_order = r.k_name_swapped"
              for k in BLOCKING_KEYS if k != "k_name_swapped"]]


_DICE_PAIR = _dice("l.clk", "r.clk", "l.clk_bits", "r.clk_bits")

#: Pairs certainly one person, for the prior (two random records being one person): encodings alike
#: (Dice 0.9) with the same NHS number, PNC ID, or any of the blocking keys. The plain linkage's
#: rule (the same names, date of birth and postcode) was tried first: it finds far fewer than the
#: 80% of true pairs assumed of it, and the prior it gave was so low that one comparison of
#: encodings could not overcome it (FEBRL 2: recall 0.62; docs/linkage.md).
ENCODED_DETERMINISTIC_RULES = [
    f"l.{key} = r.{key} AND {_DICE_PAIR} >= 0.9"
    for key in ("nhs_number_hmac", "pnc_id_hmac", "k_given_family", "k_dob_postcode", "k_family_dob",
                "k_given_postcode")
]
#: Training blocks for expectation maximisation, as the plain model's (``EM_BLOCKING_RULES``).
ENCODED_EM_RULES = [block_on("k_given_family")]


def on_encodings(settings: dict) -> bool:
    """Whether a saved model (Splink settings) compares encodings (``link --secret``), not plain fields."""
    return any(c.get("output_column_name") == "clk" for c in settings.get("comparisons", []))


def encoded_settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        # The keyed hash of date of birth with postcode, kept for blocking, is compared too (it reveals
        # nothing more): a namesake's encoding is alike by the names alone, and this says the rest
        # differs. The full name's hash was tried as well and counted the names twice (FEBRL 3, one
        # secret: precision 0.940 with it, 0.996 without; docs/linkage.md).
        comparisons=[encoded_comparison(),
                     cl.ExactMatch("k_dob_postcode"),
                     cl.ExactMatch("nhs_number_hmac"), cl.ExactMatch("pnc_id_hmac")],
        blocking_rules_to_generate_predictions=encoded_blocking_rules(),
        additional_columns_to_retain=["source_table", "source_system", "source_record_id"],
        retain_intermediate_calculation_columns=True,
        max_iterations=20,
    )
