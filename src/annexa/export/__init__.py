"""Auditor evidence bundles: a zip of per-control summaries, CSVs, records, HTML, OSCAL and a signed manifest."""
