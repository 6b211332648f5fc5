"""checkin_web."""
