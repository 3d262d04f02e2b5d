"""The needs and experience survey: the questionnaire as data (an XLSForm), the forms each collection
tool takes, and (coming) responses in, scoring and the survey's measures."""

from triangulate.survey.form import Form, FormError, load_form
from triangulate.survey.tools import redcap_dictionary, write_form

__all__ = ["Form", "FormError", "load_form", "redcap_dictionary", "write_form"]
