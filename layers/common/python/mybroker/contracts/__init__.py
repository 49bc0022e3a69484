"""Message contracts shared by producers and consumers: versioned pydantic models, one copy only."""
