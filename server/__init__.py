"""The Flask service that companions sync to and that keeps the clinical record."""
