"""Failure alerts for the DAGs: a log line always, and a JSON POST to ORCP_ALERT_WEBHOOK_URL when set
(a chat or incident tool's incoming webhook)."""

from __future__ import annotations

import logging
import os

import requests

log = logging.getLogger(__name__)


def alert_payload(context: dict) -> dict:
    ti = context.get("ti") or context.get("task_instance")
    return {
        "text": f"ORCP: task {getattr(ti, 'task_id', '?')} of {getattr(ti, 'dag_id', '?')} failed "
                f"(run {context.get('run_id', '?')}, try {getattr(ti, 'try_number', '?')}): "
                f"{context.get('exception')}",
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": context.get("run_id"),
    }


def notify_failure(context: dict) -> None:
    payload = alert_payload(context)
    log.error("%s", payload["text"])
    webhook = os.environ.get("ORCP_ALERT_WEBHOOK_URL")
    if webhook:
        try:
            requests.post(webhook, json=payload, timeout=10).raise_for_status()
        except requests.RequestException as exc:  # an alert must never mask the original failure
            log.error("alert webhook failed: %s", exc)
