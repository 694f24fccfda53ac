"""Every module's tables, imported so that Base.metadata (migrations, tests) knows them all."""


def register_all() -> None:
    import app.batches.models  # noqa: F401
    import app.invoices.models  # noqa: F401
    import app.auth.models  # noqa: F401
    import app.timeliness.models  # noqa: F401
    import app.uploads.models  # noqa: F401
