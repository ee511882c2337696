"""How each user reads: their channels per category, language, time zone and quiet hours."""
