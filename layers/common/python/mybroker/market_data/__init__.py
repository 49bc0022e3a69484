"""Market data: quote providers, tick/bar storage, the Redis hot cache and the Kafka publisher.

Layout (domain in plain Python, adapters at the edges, each behind a small interface):

- :mod:`.domain`: quotes, ticks, bars, bar buckets, the mirror/simulated modes (no I/O).
- :mod:`.provider`: the ``QuoteProvider`` interface; :mod:`.synthetic`, :mod:`.brapi` implement it.
- :mod:`.cotahist`: B3 COTAHIST historical files (streaming parser, import command).
- :mod:`.storage`: ``QuoteStore`` and its pymongo implementation (MongoDB / FerretDB).
- :mod:`.cache`: ``QuoteCache`` on Redis, the reader other services use for latest prices.
- :mod:`.publisher`: ``QuotePublisher`` on Kafka (topic ``quotes``).
- :mod:`.service`: one ingestion pass (fetch, store, cache, publish), used by the ingest handler.
"""
