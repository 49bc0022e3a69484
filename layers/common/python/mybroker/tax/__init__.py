"""Brazilian income tax on an individual's B3 trades: realized gains by average cost, the monthly report
(exemption, loss carry-forward, IRRF, DARF 6015) and the year-end positions. Plain integer arithmetic."""
