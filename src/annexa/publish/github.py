"""Compatibility shim: the GitHub publisher moved to ``annexa.platforms.github.publish``."""

from __future__ import annotations

from annexa.platforms.github.publish import (
    ACTIONS_BOT,
    ANNOTATION_BATCH,
    CHECK_NAME,
    CHECK_TEXT_LIMIT,
    COMMENT_LIMIT,
    MAX_ANNOTATIONS,
    SUMMARY_LIMIT,
    GitHubPublisher,
    Published,
    annotation_level,
    check_annotations,
    refusal,
    write_outputs,
    write_summary,
)

__all__ = [
    "ACTIONS_BOT", "ANNOTATION_BATCH", "CHECK_NAME", "CHECK_TEXT_LIMIT", "COMMENT_LIMIT", "MAX_ANNOTATIONS",
    "SUMMARY_LIMIT", "GitHubPublisher", "Published", "annotation_level", "check_annotations", "refusal",
    "write_outputs", "write_summary",
]
