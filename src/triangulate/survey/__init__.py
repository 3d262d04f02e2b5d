"""The needs and experience survey: the questionnaire as data (an XLSForm), the forms each collection
tool takes, responses in (checked against the form, pseudonymised, loaded atomically) and instrument
scores."""

from triangulate.survey.form import Form, FormError, load_form
from triangulate.survey.responses import SurveyLoadReport, SurveyRefused, ingest_responses
from triangulate.survey.tools import redcap_dictionary, write_form

__all__ = ["Form", "FormError", "SurveyLoadReport", "SurveyRefused", "ingest_responses", "load_form",
           "redcap_dictionary", "write_form"]
