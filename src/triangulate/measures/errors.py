"""The one error the measures room raises for input it cannot measure."""


class MeasuresError(ValueError):
    """Bad input to the measures: says what is wrong and what to do about it."""
