from datetime import UTC, datetime


def format_timestamp(moment: datetime | None) -> str | None:
    """UTC, millisecond precision, trailing Z: 2026-11-21T10:00:00.123Z."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
