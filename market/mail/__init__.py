"""E-mail notifications for the market events a user opted into."""
