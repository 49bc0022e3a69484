"""The instrument catalog: plain domain code, no AWS or database imports."""
