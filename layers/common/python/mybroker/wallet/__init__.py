"""The wallet: a double-entry ledger of cash (BRL cents) and shares per user, reservations for open
orders, average cost, and T+2 settlement. Plain Python; the MySQL adapter is :mod:`mybroker.wallet.mysql`."""
