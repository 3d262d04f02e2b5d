"""The Triangulate taxonomy: what HSDS does not carry, as taxonomy terms from the project's code lists.

HSDS describes a service (name, organisation, areas, languages, capacity, schedules); what a
commissioner needs to place it on the Sequential Intercept Model and weigh it against need is not in
HSDS, so it goes into ``attributes`` whose terms come from this taxonomy. Every vocabulary is a code
list of the data standard, so a term means the same here as in the measures:

=====================  ==========================  ===========================================
vocabulary             code list                   what an attribute with one of its terms says
=====================  ==========================  ===========================================
``intercept``          ``intercept`` (0-5)         the service works at this intercept
``need``               ``need``                    the service serves people with this need
``sex``                ``sex`` (1, 2)              the service is for this sex only
``ethnic_group``       ``ons_ethnic_group`` groups the service is for this ethnic group
``offence_excluded``   ``offence_category``        people with this offence are not accepted
``feature``            ``service_feature``         culturally specific, BME-led, peer support ...
``waiting_time``       (two terms)                 the stated or measured wait, days, in ``value``
=====================  ==========================  ===========================================

Ids are UUID 5 under one namespace, so every installation gives a term the same id and a directory
exported by one imports into another. An attribute names its term by ``taxonomy_term_id``, or by a
nested ``taxonomy_term`` with that id, or (for files written by hand) with this taxonomy's name and
the term's ``code``; any other term of this taxonomy is refused by validation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache

from triangulate.standard import codelist

#: The namespace of every id Triangulate derives (terms, and ids a template row leaves blank).
NAMESPACE = uuid.UUID("6f0d3c52-54b9-5b0e-9c5e-1a6f1f0b7c11")

TAXONOMY_NAME = "Triangulate"
TAXONOMY_VERSION = "1.0"
#: A URN rather than a web address: the taxonomy is defined by docs/provision.md and the code lists.
TAXONOMY_URI = f"urn:triangulate:provision-taxonomy:{TAXONOMY_VERSION}"


def derived_id(*parts: str) -> str:
    """A stable UUID 5 for the joined parts (the same input gives the same id everywhere)."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


TAXONOMY_ID = derived_id("taxonomy", TAXONOMY_NAME)


@cache
def _term_id(vocabulary: str, code: str | None) -> str:
    return derived_id("term", vocabulary) if code is None else derived_id("term", vocabulary, code)


@dataclass(frozen=True)
class Vocabulary:
    name: str
    label: str
    codelist: str | None
    link_type: str
    #: Whether an attribute of this vocabulary carries a number in ``value``.
    valued: bool = False


VOCABULARIES: tuple[Vocabulary, ...] = (
    Vocabulary("intercept", "Sequential Intercept Model intercept", "intercept", "intercept"),
    Vocabulary("need", "Needs served", "need", "need_served"),
    Vocabulary("sex", "Sex served (only)", "sex", "eligibility"),
    Vocabulary("ethnic_group", "Ethnic group served (only)", "ons_ethnic_group", "eligibility"),
    Vocabulary("offence_excluded", "Offences not accepted", "offence_category", "exclusion"),
    Vocabulary("feature", "Service features", "service_feature", "feature"),
    Vocabulary("waiting_time", "Waiting time (days)", None, "waiting_time", valued=True),
)
VOCABULARY = {v.name: v for v in VOCABULARIES}

#: The sexes a service may be limited to (the others in the code list are recording codes).
_SEXES = ("1", "2")
_WAITS = (("stated_wait_days", "Stated wait (days)",
           "The wait from referral to first contact that the service states"),
          ("measured_wait_days", "Measured wait (days)",
           "The median wait from referral to first attended contact, measured from the linked records"))


def ethnic_group_code(label: str) -> str:
    """The code of a high-level ethnic group: the first word of its ONS label, lower case."""
    return label.split(",")[0].split()[0].lower()


@dataclass(frozen=True)
class Term:
    vocabulary: str
    code: str
    label: str
    description: str

    @property
    def id(self) -> str:
        return _term_id(self.vocabulary, self.code)

    @property
    def parent_id(self) -> str:
        return _term_id(self.vocabulary, None)

    def hsds(self) -> dict:
        """The term as an HSDS / ORUK ``taxonomy_term`` object."""
        return {
            "id": self.id, "parent_id": self.parent_id, "taxonomy": TAXONOMY_NAME,
            "taxonomy_id": TAXONOMY_ID, "term_uri": f"{TAXONOMY_URI}:{self.vocabulary}:{self.code}",
            "term": self.label, "code": f"{self.vocabulary}:{self.code}", "name": self.label,
            "description": self.description,
        }


def _codes(v: Vocabulary) -> list[tuple[str, str, str]]:
    if v.name == "waiting_time":
        return list(_WAITS)
    cl = codelist(v.codelist)
    if v.name == "sex":
        return [(r["code"], r["label"], r.get("description", "")) for r in cl.rows if r["code"] in _SEXES]
    if v.name == "ethnic_group":
        groups: dict[str, str] = {}
        for r in cl.rows:
            groups.setdefault(ethnic_group_code(r["high_level_group"]), r["high_level_group"])
        return [(c, label, "ONS Census 2021 high-level ethnic group") for c, label in groups.items()]
    return [(r["code"], r["label"], r.get("description", "")) for r in cl.rows]


@cache
def terms() -> tuple[Term, ...]:
    """Every term of the taxonomy, vocabulary by vocabulary in the code lists' order."""
    return tuple(Term(v.name, code, label, desc) for v in VOCABULARIES for code, label, desc in _codes(v))


@cache
def term_by_id() -> dict[str, Term]:
    return {t.id: t for t in terms()}


@cache
def term_by_code() -> dict[tuple[str, str], Term]:
    return {(t.vocabulary, t.code): t for t in terms()}


def term(vocabulary: str, code: str) -> Term:
    """The term of one code; KeyError names the vocabulary's codes."""
    try:
        return term_by_code()[(vocabulary, code)]
    except KeyError:
        codes = [t.code for t in terms() if t.vocabulary == vocabulary]
        raise KeyError(f"{code!r} is not a {vocabulary} code; the codes are {', '.join(codes)}") from None


def codes(vocabulary: str) -> tuple[str, ...]:
    return tuple(t.code for t in terms() if t.vocabulary == vocabulary)


def taxonomy() -> dict:
    """The taxonomy as an ORUK ``taxonomy`` object, parent terms for the vocabularies and all terms."""
    parents = [{"id": derived_id("term", v.name), "taxonomy": TAXONOMY_NAME, "taxonomy_id": TAXONOMY_ID,
                "term": v.label, "code": v.name, "name": v.label,
                "term_uri": f"{TAXONOMY_URI}:{v.name}",
                "description": f"Vocabulary: {v.label}" + (f" (code list {v.codelist})" if v.codelist else "")}
               for v in VOCABULARIES]
    return {"id": TAXONOMY_ID, "name": TAXONOMY_NAME, "version": TAXONOMY_VERSION, "uri": TAXONOMY_URI,
            "description": "Triangulate's terms for what HSDS does not carry: the Sequential Intercept Model "
                           "intercept, needs and populations served, offences not accepted, service "
                           "features and waiting times. Each vocabulary is a code list of the Triangulate "
                           "data standard.",
            "taxonomy_terms": parents + [t.hsds() for t in terms()]}


@cache
def _nested(t: Term) -> dict:
    return {"id": t.id, "taxonomy": TAXONOMY_NAME, "taxonomy_id": TAXONOMY_ID, "term": t.label,
            "code": f"{t.vocabulary}:{t.code}"}


def attribute(link_id: str, t: Term, value: float | None = None) -> dict:
    """An HSDS ``attribute`` linking an entity to a term (``value`` for valued vocabularies). The term
    nested in it carries what a reader needs to read it (id, taxonomy, the term and its code); its
    description and place in the hierarchy are at ``/api/taxonomy_terms/{id}``."""
    out = {"id": derived_id("attribute", link_id, t.vocabulary, t.code),
           "link_type": VOCABULARY[t.vocabulary].link_type, "taxonomy_term_id": t.id,
           "taxonomy_term": dict(_nested(t))}
    if value is not None:
        out["value"] = str(int(value)) if float(value).is_integer() else str(value)
    return out
