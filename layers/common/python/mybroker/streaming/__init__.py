"""The streaming API's domain: channels and who may subscribe to them, the subscription store's interface,
the client protocol and the pusher's fan-out plan. No AWS imports (``docs/streaming.md``)."""
