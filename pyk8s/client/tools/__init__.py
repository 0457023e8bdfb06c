"""client-go's tools, in asyncio: reflector, store/indexer, shared informers,
work queue with rate limiting, leader election, event recorder, and a small
controller loop.  Everything long-running is an object with ``async def run()``
stopped by cancellation."""
