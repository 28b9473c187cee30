"""A Bleak backend on Bumble's host stack, and the links to put it on.

``BleakScanner(backend=...)`` and ``BleakClient(backend=...)`` accept
:class:`~wearable.bumble_backend.scanner.BumbleBleakScanner` and
:class:`~wearable.bumble_backend.client.BumbleBleakClient` subclasses bound to one Bumble host;
get them from :func:`wearable.bumble_backend.transport.open_link` (``--transport`` values ``os``,
``sim:RECORDING`` or a Bumble transport name), :func:`~wearable.bumble_backend.transport.sim_link`
(in-process simulated sensors on a virtual link) or
:func:`~wearable.bumble_backend.transport.open_transport` (``rehab sim-sensor`` in another
process, a USB dongle). Reconnects reuse a GATT cache checked against the sensor's Database Hash
(:mod:`~wearable.bumble_backend.gatt_cache`). Importing this package does not import Bumble; the
modules do.
"""
