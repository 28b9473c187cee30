"""The byte level: the open RehabLink GATT profile, codecs for commodity sensors, and a simulated sensor."""
