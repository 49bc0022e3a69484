"""The brokerage note as a one-page PDF in the SINACOR layout (fpdf2, its built-in Helvetica: Latin-1 text)."""

from __future__ import annotations

from fpdf import FPDF

from mybroker.wallet.notes import BrokerageNote

BROKER = "My Broker B3 (simulador)"


def brl(cents: int) -> str:
    """1.234,56 (Brazilian format, no sign)."""
    whole, frac = divmod(abs(cents), 100)
    return f"{whole:,}".replace(",", ".") + f",{frac:02d}"


def dc(cents: int) -> str:
    return f"{brl(cents)} {'C' if cents >= 0 else 'D'}"


def _row(pdf: FPDF, label: str, value: str, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", 9)
    pdf.cell(120, 5, label)
    pdf.cell(60, 5, value, align="R", new_x="LMARGIN", new_y="NEXT")


def _title(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_fill_color(225, 225, 225)
    pdf.cell(180, 6, text, fill=True, new_x="LMARGIN", new_y="NEXT")


def render(note: BrokerageNote) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.add_page()
    pdf.set_title(f"Nota de corretagem {note.number} - {note.trade_date.isoformat()}")
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(180, 8, "NOTA DE CORRETAGEM", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(60, 5, f"Nr. nota: {note.number}")
    pdf.cell(60, 5, f"Data pregão: {note.trade_date.strftime('%d/%m/%Y')}")
    pdf.cell(60, 5, "Folha: 1", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(120, 5, f"Corretora: {BROKER}")
    pdf.cell(60, 5, f"Cliente: {note.account_id[:28]}", align="R", new_x="LMARGIN", new_y="NEXT")

    _title(pdf, "Negócios realizados")
    widths = (10, 12, 28, 36, 10, 22, 26, 28, 8)
    head = ("Praça", "C/V", "Mercado", "Especificação do título", "Obs", "Quantidade", "Preço", "Valor", "D/C")
    pdf.set_font("Helvetica", "B", 8)
    for w, h in zip(widths, head, strict=True):
        pdf.cell(w, 5, h, border="B")
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for t in note.trades:
        cells = ("B3", t.side, t.market, t.ticker, t.obs, f"{t.quantity:,}".replace(",", "."),
                 brl(t.price_cents), brl(t.value_cents), t.dc)
        for i, (w, c) in enumerate(zip(widths, cells, strict=True)):
            pdf.cell(w, 5, c, align="R" if 5 <= i < 8 else "L")
        pdf.ln()

    _title(pdf, "Resumo dos negócios")
    _row(pdf, "Vendas à vista", brl(note.sales_cents))
    _row(pdf, "Compras à vista", brl(note.purchases_cents))
    _row(pdf, "Opções - compras / vendas", brl(0))
    _row(pdf, "Operações a termo", brl(0))
    _row(pdf, "Valor das operações", brl(note.total_traded_cents), bold=True)

    _title(pdf, "Resumo financeiro")
    _row(pdf, "Clearing - Valor líquido das operações", dc(note.net_operations_cents))
    _row(pdf, "Clearing - Taxa de liquidação", dc(-note.settlement_fee_cents))
    _row(pdf, "Clearing - Taxa de registro", dc(-note.registration_fee_cents))
    _row(pdf, "Total CBLC", dc(note.clearing_total_cents), bold=True)
    _row(pdf, "Bolsa - Emolumentos", dc(-note.trading_fee_cents))
    _row(pdf, "Total Bovespa / Soma", dc(-note.trading_fee_cents), bold=True)
    _row(pdf, "Custos operacionais - Corretagem", dc(-note.brokerage_cents))
    _row(pdf, "Custos operacionais - ISS", dc(-note.iss_cents))
    _row(pdf, f"I.R.R.F. s/ operações, base R$ {brl(note.irrf_base_cents)}", dc(-note.irrf_cents))
    _row(pdf, f"I.R.R.F. day trade, base R$ {brl(note.day_trade_irrf_base_cents)}", dc(-note.day_trade_irrf_cents))
    _row(pdf, "Total custos / despesas", dc(-note.operating_costs_cents), bold=True)
    pdf.ln(2)
    _row(pdf, f"Líquido para {note.settle_date.strftime('%d/%m/%Y')}", dc(note.net_cents), bold=True)
    pdf.ln(4)
    pdf.set_font("Helvetica", "I", 7)
    pdf.multi_cell(180, 4, "Simulação: B3 fees as dated configuration (docs/tax.md). D = day trade.")
    return bytes(pdf.output())
