"""The publication: every measure, every view, disclosure-controlled once; the only thing that leaves."""
