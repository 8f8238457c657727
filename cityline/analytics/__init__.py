"""Analytics: the daily briefing (快报), problem discovery, emerging issues, hotspots, scorecards.

Orders are exported once into Parquet day files (``export.py``, the table of
``table.py``); the briefing's SQL (``queries.py``) runs over them in DuckDB, or
on a distributed engine over the same files. Entry points::

    from cityline.analytics.dataset import Dataset
    from cityline.analytics.export import export_store
    from cityline.analytics.brief import build_briefing
    export_store(factory, folder)                      # bring the export up to date
    briefing = build_briefing(Dataset(folder), day)    # .as_json() / .to_html() / .to_pdf()
"""
