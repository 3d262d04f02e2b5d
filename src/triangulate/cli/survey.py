"""``triangulate survey``: the needs and experience questionnaire (the forms, and responses in)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from triangulate.cli.app import app, console, err_console

survey_app = typer.Typer(help="The needs and experience survey: the form for each collection tool, responses in.",
                         no_args_is_help=True)
app.add_typer(survey_app, name="survey")


@survey_app.command("form")
def survey_form(
    out: Path = typer.Option(..., "--out", help="Folder to write the XLSForm, the XForm and the REDCap dictionary into."),
    licensed_text: Optional[Path] = typer.Option(
        None, "--licensed-text", help="CSV (name,label) of the SWEMWBS text, from an organisation holding its "
                                      "licence; without it the SWEMWBS items are left out."),
) -> None:
    """Write the questionnaire as an XLSForm, as an XForm for ODK Central or KoboToolbox, and as a REDCap
    data dictionary (English and easy read)."""
    from triangulate.survey import FormError, load_form, write_form

    try:
        written = write_form(load_form(licensed_text), out)
    except FormError as failure:
        err_console.print(f"Refused: {failure}", markup=False)
        raise typer.Exit(code=2) from None
    for what, path in written.items():
        console.print(f"{what}: {path}", markup=False)


@survey_app.command("ingest")
def survey_ingest(
    path: Path = typer.Argument(..., help="A CSV export of the survey from ODK Central, KoboToolbox or REDCap."),
    area: str = typer.Option(..., "--area", help="ONS local authority code of the area whose survey this is."),
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The DuckDB store file."),
    key_file: Optional[Path] = typer.Option(
        None, "--key-file", help="File holding the pseudonymisation key (else TRIANGULATE_KEY)."),
    rejects: Optional[Path] = typer.Option(
        None, "--rejects", help="Folder for the rejects file (default: beside the store)."),
    licensed_text: Optional[Path] = typer.Option(
        None, "--licensed-text", help="The SWEMWBS text, if the form was collected with it (not needed to ingest)."),
) -> None:
    """Check every answer against the form (choices, types, constraints, skip logic) and load the valid
    responses in one transaction; every row is loaded, already loaded or written to a rejects file."""
    from triangulate.ingest import IngestRefused, load_key
    from triangulate.store import StoreError
    from triangulate.survey import FormError, SurveyRefused, ingest_responses, load_form

    try:
        key = load_key(key_file)
        report = ingest_responses(path, store, key, area=area, form=load_form(licensed_text),
                                  rejects_dir=rejects or store.parent / f"{store.stem}.rejects")
    except (IngestRefused, SurveyRefused, FormError) as refusal:
        err_console.print(f"Refused, nothing was loaded: {refusal}", markup=False)
        raise typer.Exit(code=2) from None
    except StoreError as failure:
        err_console.print(f"Failed, nothing was loaded: {failure}", markup=False)
        raise typer.Exit(code=1) from None
    console.print(f"{report.file} ({report.tool}): {report.rows_in:,} rows in = {report.loaded:,} loaded + "
                  f"{report.already:,} already loaded + {report.rejected:,} rejected", markup=False)
    if report.rejects_file:
        console.print(f"Rejected rows, by row, item and rule (no answers): {report.rejects_file}", markup=False)


@survey_app.command("qda-export")
def survey_qda_export(
    out: Path = typer.Option(..., "--out", help="The REFI-QDA project to write (.qdpx), for NVivo, MAXQDA or ATLAS.ti."),
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The DuckDB store file."),
) -> None:
    """Write the free-text answers, with the survey's code book of themes, for coding in a qualitative tool.
    The file holds what people wrote: keep it as you keep the store (it is written mode 600)."""
    from triangulate.store import StoreError
    from triangulate.survey.qda import export_free_text

    try:
        count = export_free_text(store, out)
    except StoreError as failure:
        err_console.print(f"Failed: {failure}", markup=False)
        raise typer.Exit(code=1) from None
    console.print(f"{count:,} free-text answers written to {out} (mode 600; code them with the themes in its code "
                  "book, mark quotations a reviewer has cleared, then `triangulate survey qda-import`)", markup=False)


@survey_app.command("qda-import")
def survey_qda_import(
    path: Path = typer.Argument(..., help="The coded REFI-QDA project (.qdpx)."),
    store: Path = typer.Option(Path("triangulate.duckdb"), "--store", help="The DuckDB store file."),
) -> None:
    """Read coded themes (and quotations cleared by a reviewer) back; they are counted by the survey_themes
    measure at the next publish."""
    from triangulate.store import StoreError
    from triangulate.survey.qda import QdaRefused, import_themes

    try:
        result = import_themes(path, store)
    except QdaRefused as refused:
        err_console.print(f"Refused, nothing was imported: {refused}", markup=False)
        raise typer.Exit(code=2) from None
    except StoreError as failure:
        err_console.print(f"Failed, nothing was imported: {failure}", markup=False)
        raise typer.Exit(code=1) from None
    console.print(f"{path.name}: {result.sources:,} coded answers, {result.themes:,} themes, {result.quotes:,} "
                  "quotations cleared by a reviewer", markup=False)
