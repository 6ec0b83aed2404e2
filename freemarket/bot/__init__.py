"""The Telegram side: delivering the notification outbox (and, later, the conversational bot)."""
