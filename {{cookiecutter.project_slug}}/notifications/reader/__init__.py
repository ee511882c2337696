"""How each user reads: their language, time zone and quiet hours for email."""
