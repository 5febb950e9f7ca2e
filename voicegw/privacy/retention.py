"""Retention: each class of personal data is deleted when its time is up, and audio is kept only
when a setting and the customer's consent both say so.

| class        | rows                                                  | setting           |
|--------------|-------------------------------------------------------|-------------------|
| audio        | retained_audio                                        | audio_days        |
| transcripts  | turn_log, experiment_exposures; carts idle that long  | transcripts_days  |
| replies      | turn_replies: answers kept for retried keyed turns    | 24 hours          |
| contacts     | contacts                                              | contact_days      |
| events       | consents withdrawn that long ago, or granted that long| events_days       |
|              | ago and no longer covering any kept data              |                   |
| audit        | audit_log                                             | audit_days        |

Audio and contacts also carry their own ``expires_at``: the shorter of the class period and the
period the customer consented to. Submitted orders are business records and are not purged;
``subject.delete_user`` detaches them from the user instead.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from voicegw.backend.storage import REPLY_RETENTION
from voicegw.privacy.audit import Actor, record
from voicegw.privacy.store import ConsentError, PrivacyStore, iso, utcnow
from voicegw.settings import RetentionSettings, Settings

log = logging.getLogger(__name__)

PURGE_ACTOR = Actor("purge", "system")
CLASSES = ("audio", "transcripts", "carts", "replies", "contacts", "events", "audit")


def purge(privacy: PrivacyStore, retention: RetentionSettings, now: datetime | None = None) -> dict[str, int]:
    """Delete everything due at ``now`` in one transaction; rows deleted per class."""
    now = now or utcnow()
    at = iso(now)

    def cutoff(days: int) -> str:
        return iso(now - timedelta(days=days))

    with privacy.tx() as c:
        c.lock("purge")  # gateways sharing a PostgreSQL database purge one at a time, not into each other
        counts = {
            "audio": c.execute(
                "DELETE FROM retained_audio WHERE expires_at <= ? OR created_at < ?", (at, cutoff(retention.audio_days))
            ).rowcount,
            "transcripts": c.execute("DELETE FROM turn_log WHERE at < ?", (cutoff(retention.transcripts_days),)).rowcount
            + c.execute("DELETE FROM experiment_exposures WHERE at < ?", (cutoff(retention.transcripts_days),)).rowcount,
            "carts": 0,
            "contacts": c.execute(
                "DELETE FROM contacts WHERE expires_at <= ? OR created_at < ?", (at, cutoff(retention.contact_days))
            ).rowcount,
        }
        if c.has_table("carts"):  # the reference skill server's, when it shares this database
            counts["carts"] = c.execute("DELETE FROM carts WHERE updated_at < ?", (cutoff(retention.transcripts_days),)).rowcount
        counts["replies"] = 0
        if c.has_table("turn_replies"):
            counts["replies"] = c.execute("DELETE FROM turn_replies WHERE created_at < ?",
                                          (iso(now - REPLY_RETENTION),)).rowcount
        events = cutoff(retention.events_days)
        counts["events"] = c.execute(
            "DELETE FROM consents WHERE withdrawn_at < ? OR (withdrawn_at IS NULL AND granted_at < ?"
            " AND id NOT IN (SELECT consent_id FROM retained_audio) AND id NOT IN (SELECT consent_id FROM contacts))",
            (events, events),
        ).rowcount
        # The audit log's delete trigger lets rows go only below the cutoff named here, and only
        # inside this transaction (uncommitted, the row is seen by no other).
        c.execute("INSERT INTO audit_purge (before) VALUES (?)", (cutoff(retention.audit_days),))
        counts["audit"] = c.execute("DELETE FROM audit_log WHERE at < ?", (cutoff(retention.audit_days),)).rowcount
        c.execute("DELETE FROM audit_purge")
        if any(counts.values()):
            record(c, PURGE_ACTOR, "data.purge", detail=counts, now=now)
    return counts


def maybe_retain_audio(
    settings: Settings, privacy: PrivacyStore | None, store: str, session: str, audio: bytes,
    content_type: str | None = None, now: datetime | None = None,
) -> int | None:
    """Keep a customer's clip for QA, encrypted, only when ``privacy.retain_audio`` is on and the
    session holds an active ``audio_qa`` consent; returns the clip's row id, or None (kept nowhere).

    The consent is looked up here, in the same transaction as the write, rather than passed in:
    a consent withdrawn a moment ago can never be used by a caller holding an old copy.
    """
    days = settings.privacy.retention.audio_days
    if not settings.privacy.retain_audio or privacy is None or days == 0 or not audio:
        return None
    consent = privacy.active_consent(store, session, "audio_qa")
    if consent is None or consent.retention_days == 0:
        return None
    try:
        return privacy.retain_audio(store, session, audio, content_type, days, now)
    except ConsentError:  # withdrawn between the look-up and the write
        return None
