"""What every request handler needs, taken from the application's state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from cityline.privacy import Vault


@dataclass
class Deps:
    sessions: sessionmaker[Session]
    vault: Vault
    actor: str
    app_state: Any

    def classify(self, session: Session):
        """The active triage classifier (None when the app was built without triage)."""
        provider = getattr(self.app_state, "classifier", None)
        return provider(session) if provider else None


def deps(request: Request) -> Deps:
    state = request.app.state
    return Deps(sessions=state.sessions, vault=state.vault, actor="api", app_state=state)
