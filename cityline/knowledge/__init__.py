"""The knowledge base: articles an operator reads out to answer a consultation on the call.

Entry points for other packages: ``cityline.knowledge.api.router`` and
``public_router`` (HTTP), ``cityline.knowledge.cli.app`` (``cityline knowledge``),
and ``cityline.knowledge.search.suggest(session, text, limit=3)`` for the
operator's form.
"""
