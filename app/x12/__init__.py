"""Pure X12 837P writer, pyx12 validation and 999 reader (no web framework, no database)."""
