"""followup: dated interview follow-ups, sent to the calendar and task manager you use."""

__version__ = "0.1.0"
