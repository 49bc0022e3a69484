"""wallet-reports: what the broker hands the user of the token after the trade: the brokerage note of a day
(JSON and PDF), the monthly income-tax report and the year-end positions. A function of its own so that the
PDF library never loads in the wallet's request path. Thin: parse, call :class:`mybroker.wallet.reports.Reports`."""

from __future__ import annotations

import os
from datetime import date
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.contracts.requests import IsoDate, QueryInt
from mybroker.db import UNAVAILABLE, engine, retry_deadlocks
from mybroker.http import error_response, principal, resolver
from mybroker.wallet.asset_kinds import CatalogUnavailable, HttpAssetKinds
from mybroker.wallet.mysql import MySqlStore
from mybroker.wallet.report_views import NoteView, TaxMonthView, YearEndPositionView, YearEndView
from mybroker.wallet.reports import Reports
from mybroker.wallet.service import WalletError

logger = Logger()
metrics = Metrics()
app = resolver("My Broker B3: wallet reports", "/docs/wallet-reports", unavailable=UNAVAILABLE,
               transaction=retry_deadlocks)  # each route is one idempotent transaction
TradeDate = Annotated[IsoDate, Path(description="the trading day, YYYY-MM-DD")]


@app.exception_handler(WalletError)  # type: ignore[untyped-decorator]
def _refused(exc: WalletError) -> Response[str]:
    return error_response(exc.status, exc.code, exc.message)


@app.exception_handler(CatalogUnavailable)  # type: ignore[untyped-decorator]
def _no_catalog(exc: CatalogUnavailable) -> Response[str]:
    return error_response(503, "ASSETS_UNAVAILABLE", f"{exc}; try again")


@cache
def reports() -> Reports:
    return Reports(MySqlStore(engine()))


def me() -> str:
    return principal(app).user_id


def catalog() -> HttpAssetKinds:
    return HttpAssetKinds(os.environ.get("API_URL", ""), app.current_event.headers.get("authorization", ""))


def note_of(trade_date: date) -> NoteView:
    note = reports().note(me(), trade_date)
    if note is None:
        raise WalletError("NOTE_NOT_FOUND", f"no trades on {trade_date.isoformat()}", 404)
    return NoteView.of(note)


@app.get("/wallet/notes")
def get_note(date_: Annotated[IsoDate, Query(alias="date", description="the trading day")]) -> NoteView:
    """The brokerage note (nota de corretagem) of the day: trades, summaries, fees, IRRF, net for D+2."""
    return note_of(date_)


@app.get("/wallet/notes/<tradeDate>/pdf", responses={200: {"description": "the note as a PDF", "content": {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def get_note_pdf(tradeDate: TradeDate):  # type: ignore[no-untyped-def]  # no annotation: Powertools passes binary through
    from mybroker.wallet.note_pdf import render  # the PDF library loads only here
    note = reports().note(me(), tradeDate)
    if note is None:
        raise WalletError("NOTE_NOT_FOUND", f"no trades on {tradeDate.isoformat()}", 404)
    return Response(status_code=200, content_type="application/pdf", body=render(note),
                    headers={"Content-Disposition": f'inline; filename="nota-{tradeDate.isoformat()}.pdf"'})


@app.get("/wallet/tax/<month>")
def get_tax_month(
    month: Annotated[str, Path(pattern=r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$", description="YYYY-MM")],
) -> TaxMonthView:
    """The month's income tax on B3 trades: results per category, the R$ 20,000 exemption, losses carried,
    IRRF deducted and the DARF (code 6015) due by the last business day of the next month."""
    year, m = (int(x) for x in month.split("-"))
    return TaxMonthView.of(reports().tax_month(me(), year, m, catalog()))


@app.get("/wallet/tax/year-end/<year>")
def get_year_end(year: Annotated[QueryInt, Path(ge=2000, le=2100, description="the calendar year")]) -> YearEndView:
    """Custody on 31 December at average cost, fees included (the yearly declaration's 'bens e direitos')."""
    items = [YearEndPositionView.of(p) for p in reports().year_end(me(), year, catalog())]
    return YearEndView(year=year, as_of=date(year, 12, 31), items=items,
                       total_cost_cents=sum(i.cost_cents for i in items))


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
