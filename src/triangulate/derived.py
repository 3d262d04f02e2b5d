"""Every room's tables derived from a publication, for ``write_publication(derived=...)``: the provision
gap analysis (from the publication's own controlled figures: it adds nothing a reader could not work
out) and the survey's weighted shares (raked on the survey's fine counts, published under the rule in
``triangulate.survey.weights``). They are kept in the publication so that the report, the dashboard and
the exports read them from one place."""

from __future__ import annotations


def derived_tables(published, fine: dict | None = None) -> dict:
    from triangulate.provision import derived_tables as provision_tables
    from triangulate.survey.weights import derived_tables as survey_tables

    return {**provision_tables(published), **survey_tables(published, fine)}
