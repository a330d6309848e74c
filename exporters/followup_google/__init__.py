"""Google Calendar exporter. The SDK is imported only when an export runs."""

from followup_google.exporter import GoogleExporter

__all__ = ["GoogleExporter"]
