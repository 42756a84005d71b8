"""Print (unix microseconds, isoformat) pairs for aware UTC datetimes, as used by the
`formats_like_python_isoformat` test in src/clock.rs."""

from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
UTC = timezone.utc

for dt in [
    datetime(2026, 11, 21, 7, 42, 10, 387012, tzinfo=UTC),
    datetime(2026, 11, 21, 7, 42, 10, tzinfo=UTC),
    datetime(2026, 11, 21, 7, 42, 10, 10, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    EPOCH,
    EPOCH - timedelta(microseconds=1_500_000),
    datetime(2024, 2, 29, 12, 0, 0, 500000, tzinfo=UTC),
    EPOCH + timedelta(microseconds=1_700_000_000_123_456),
]:
    print(f"({(dt - EPOCH) // timedelta(microseconds=1)}, {dt.isoformat()!r}),")
