"""Every room's tables derived from a publication's own controlled figures, for
``write_publication(derived=...)``: the provision gap analysis and the survey's weighted shares. They
add nothing a reader could not work out from the publication, and are kept in it so that the report,
the dashboard and the exports read them from one place."""

from __future__ import annotations


def derived_tables(published) -> dict:
    from triangulate.provision import derived_tables as provision_tables
    from triangulate.survey.weights import derived_tables as survey_tables

    return {**provision_tables(published), **survey_tables(published)}
