"""Knowledge-base tables: articles, their versions and the events of their workflow.

An article (知识条目) is what an operator reads out to answer a consultation. Every
change makes a new version; the version people see is the one published
(``published_version``), so an editor can rework an article while the previous
version keeps answering calls. Every step of the workflow writes an event.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityline.db import Base, UTCDateTime, utcnow
from cityline.orders.models import BigId


class Article(Base):
    __tablename__ = "knowledge_articles"
    __table_args__ = (Index("ix_knowledge_articles_status_updated", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    # draft / reviewed (never published yet), published (has a live version), expired.
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))  # of the latest version, for listings
    category: Mapped[str | None] = mapped_column(String(32), index=True)
    latest_version: Mapped[int] = mapped_column(default=1)
    published_version: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Touched by every change: the search index is rebuilt when it moves.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ArticleVersion(Base):
    """One version of an article, kept for ever: an answered order names the version it read out."""

    __tablename__ = "knowledge_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_articles.id"), index=True)
    version: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(300))
    questions: Mapped[list[str]] = mapped_column(default=list)
    answer: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(32))
    effective_from: Mapped[date | None] = mapped_column(Date)
    expires_at: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(Text)
    # draft → reviewed → published; a published version replaced by a newer one is superseded.
    status: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(100))
    reviewer: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # For drafts proposed by mining: the questions callers asked, with counts and orders.
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleEvent(Base):
    """One workflow step of an article: who, when, what, on which version, why."""

    __tablename__ = "knowledge_article_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("knowledge_articles.id"), index=True)
    version: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class KnowledgeRevision(Base):
    """One row whose token changes with every change to any article.

    Search processes compare it with the token their in-memory index was built
    from, and rebuild when it differs: one primary-key read per query, and right
    even after a database is emptied and refilled (a counter or a timestamp
    could come back to the same value; a random token does not).
    """

    __tablename__ = "knowledge_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Embedding(Base):
    """One text's vector under one embedding model (``semantic``): looked up by the text's digest,
    never by article, so a text shared by versions or articles is embedded once, and a restart
    embeds nothing again."""

    __tablename__ = "knowledge_embeddings"

    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the text
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # DIM float32, little-endian
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
