"""What crosses the API for the dispatch catalogue and its versions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from cityline.limits import RequestBody


class CatalogueRule(RequestBody):
    """One rule, with the columns of the catalogue file (category,district,street,unit,level,priority,note)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt column is a mistake, not something to ignore

    category: str = Field(max_length=32)
    district: str | None = Field(None, max_length=64)
    street: str | None = Field(None, max_length=64)
    unit: str | None = Field(None, max_length=64)
    level: str | None = Field(None, max_length=16)
    priority: int = Field(0, ge=-1000, le=1000)
    note: str | None = Field(None, max_length=500)


class CatalogueReplace(RequestBody):
    """A whole new catalogue: every rule, in order. With any bad rule nothing changes (422)."""

    rules: list[CatalogueRule] = Field(max_length=20_000)
    note: str | None = Field(default=None, max_length=2000)


class Restore(RequestBody):
    note: str | None = Field(default=None, max_length=2000)


class RuleChange(BaseModel):
    before: CatalogueRule
    after: CatalogueRule
    fields: list[str]


class CatalogueChanges(BaseModel):
    added: list[CatalogueRule]
    removed: list[CatalogueRule]
    changed: list[RuleChange]


class VersionSummary(BaseModel):
    version: int
    created_at: datetime
    actor: str
    action: str  # import | restore | found
    restored_from: int | None
    note: str | None
    rule_count: int
    added: int
    removed: int
    changed: int


class VersionDetail(VersionSummary):
    rules: list[CatalogueRule]
    changes: CatalogueChanges  # against the version before (for version 1: against an empty catalogue)


class ReplaceResult(BaseModel):
    created: bool  # False: the rules were the catalogue in force already, no version was made
    current: int | None  # the version in force now
    rule_count: int
    version: VersionSummary | None = None  # the new version, when one was made
