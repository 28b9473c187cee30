"""What the physiotherapist and the patient see: Flask blueprints, templates and server-rendered charts."""
