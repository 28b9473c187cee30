"""The byte level: the open RehabLink GATT profile, codecs for commodity sensors, the sensor
registry, and a simulated sensor."""
