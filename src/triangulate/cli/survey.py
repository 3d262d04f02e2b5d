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
