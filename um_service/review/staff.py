"""Reviewers and work queues: managed through the staff API and seedable from rules/staff/staff.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Reviewer, WorkQueue


class ReviewerSpec(BaseModel):
    """A reviewer as staff administrators describe one."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=100)
    name: str
    role: Literal["nurse", "medical_director"]
    skills: list[str] = []
    licensed_states: list[str] = []
    capacity: int = Field(default=10, ge=0, le=1000)
    available: bool = True
    npi: str | None = None


class QueueSpec(BaseModel):
    """A work queue and the skills its cases need."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=100)
    description: str = ""
    skills: list[str] = []


class StaffFile(BaseModel):
    """rules/staff/staff.yaml."""

    model_config = ConfigDict(extra="forbid")

    queues: list[QueueSpec] = []
    reviewers: list[ReviewerSpec] = []


def save_reviewer(session: Session, spec: ReviewerSpec) -> Reviewer:
    """Create or replace a reviewer."""
    reviewer = session.get(Reviewer, spec.id) or Reviewer(id=spec.id)
    reviewer.name = spec.name
    reviewer.role = spec.role
    reviewer.skills = sorted(set(spec.skills))
    reviewer.licensed_states = sorted(set(spec.licensed_states))
    reviewer.capacity = spec.capacity
    reviewer.available = spec.available
    reviewer.npi = spec.npi
    session.add(reviewer)
    session.flush()
    return reviewer


def save_queue(session: Session, spec: QueueSpec) -> WorkQueue:
    """Create or replace a queue."""
    queue = session.get(WorkQueue, spec.name) or WorkQueue(name=spec.name)
    queue.description = spec.description
    queue.skills = sorted(set(spec.skills))
    session.add(queue)
    session.flush()
    return queue


def reviewer_view(reviewer: Reviewer, open_cases: int) -> dict[str, Any]:
    """A reviewer as the staff API shows one."""
    return {
        "id": reviewer.id,
        "name": reviewer.name,
        "role": reviewer.role,
        "skills": reviewer.skills,
        "licensed_states": reviewer.licensed_states,
        "capacity": reviewer.capacity,
        "available": reviewer.available,
        "npi": reviewer.npi,
        "open_cases": open_cases,
    }


def queue_view(queue: WorkQueue) -> dict[str, Any]:
    """A queue as the staff API shows one."""
    return {"name": queue.name, "description": queue.description, "skills": queue.skills}


def reviewers(session: Session) -> list[Reviewer]:
    """Every reviewer."""
    return list(session.scalars(select(Reviewer).order_by(Reviewer.id)))


def queues(session: Session) -> list[WorkQueue]:
    """Every queue."""
    return list(session.scalars(select(WorkQueue).order_by(WorkQueue.name)))


def seed(session: Session, path: Path) -> tuple[int, int]:
    """Load queues and reviewers from a YAML file (create or replace); (queues, reviewers) written."""
    staff = StaffFile.model_validate(yaml.safe_load(path.read_text()) or {})
    for queue in staff.queues:
        save_queue(session, queue)
    for reviewer in staff.reviewers:
        save_reviewer(session, reviewer)
    return len(staff.queues), len(staff.reviewers)
