"""annexa: ISO 27001:2022 policies as code for AI repositories."""

__version__ = "0.1.0"
