"""The companion's local store (SQLite via sqlite-utils): see :mod:`wearable.store.db`."""

from wearable.store.db import (
                               DB_NAME,
                               CompanionStore,
                               Gap,
                               SampleWriter,
                               SensorInfo,
                               StoreDamaged,
                               utc_now,
)
from wearable.store.queries import StoreError

__all__ = ["DB_NAME", "CompanionStore", "Gap", "SampleWriter", "SensorInfo", "StoreDamaged",
           "StoreError", "utc_now"]
