"""The patient's companion: streams a BLE sensor through Bleak, counts reps live, keeps every
session on disk and syncs it."""
