"""aiohttp middlewares that wrap every request: errors to Status, authentication."""
