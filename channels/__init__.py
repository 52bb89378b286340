"""One module per channel behind alerts.channel.Channel: Telegram now, email next."""
