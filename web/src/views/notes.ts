import { api, ApiError } from "../api";
import { h, replace } from "../dom";
import { money, qty, spDate } from "../format";
import { t } from "../i18n";
import type { Note, TaxMonth } from "../models";
import { errorMessage, table, td } from "../ui";

export function notesView(root: HTMLElement, today: string): () => void {
  const date = h("input", { type: "date", name: "note-date", value: today, "aria-label": t("date") });
  const month = h("input", { type: "month", name: "tax-month", value: today.slice(0, 7), "aria-label": t("month") });
  const noteBox = h("div", { "data-testid": "note" });
  const taxBox = h("div", { "data-testid": "tax" });

  const line = (label: string, cents: number) => h("tr", null, h("th", null, t(label)), td(money(cents), "num"));
  const drawNote = (n: Note) => {
    replace(noteBox,
      h("p", null, `Nº ${n.number} · ${t("date")} ${n.tradeDate.split("-").reverse().join("/")} · ${t("settleDate")} `
        + n.settleDate.split("-").reverse().join("/")),
      table(["side", "ticker", "quantity", "price", "amount"], n.trades.map((x) => [
        td(x.side === "C" ? t("BUY") : t("SELL")), td(x.ticker, "ticker"), td(qty(x.quantity), "num"),
        td(money(x.priceCents), "num"), td(`${money(x.valueCents)} ${x.dc}`, "num")])),
      h("table", { class: "summary" }, h("tbody", null,
        line("sales", n.salesCents), line("purchases", n.purchasesCents), line("netOps", n.netOperationsCents),
        line("settlementFee", n.settlementFeeCents), line("tradingFee", n.tradingFeeCents),
        line("brokerage", n.brokerageCents), line("irrf", n.irrfCents + n.dayTradeIrrfCents),
        h("tr", { class: "total" }, h("th", null, t("net")), td(money(n.netCents), "num", { "data-testid": "note-net" })))),
      h("button", { type: "button", "data-testid": "note-pdf", onclick: async () => {
        const blob = await api.notePdf(n.tradeDate);
        const url = URL.createObjectURL(blob);
        const a = h("a", { href: url, download: `nota-${n.tradeDate}.pdf` });
        document.body.appendChild(a);
        a.click();
        a.remove();
        URL.revokeObjectURL(url);
      } }, t("pdf")));
  };
  const drawTax = (x: TaxMonth) => {
    replace(taxBox,
      x.exempt ? h("p", { class: "ok" }, t("exempt")) : null,
      table(["pool", "gains", "losses", "taxable", "taxDue"], x.pools.map((p) => [
        td(`${p.pool} (${p.ratePercent}%)`), td(money(p.gainsCents), "num"), td(money(p.lossesCents), "num"),
        td(money(p.taxableCents), "num"), td(money(p.taxCents), "num")])),
      h("p", null, `${t("darf")}: `, h("strong", { "data-testid": "darf" }, money(x.darfCents)),
        x.darfCode ? ` · código ${x.darfCode}` : "", x.dueDate ? ` · ${t("dueDate")} ${x.dueDate.split("-").reverse().join("/")}` : ""));
  };
  const loadNote = async () => {
    try {
      drawNote(await api.note(date.value));
    } catch (e) {
      replace(noteBox, h("p", { class: "muted" }, e instanceof ApiError && e.status === 404 ? t("noNote") : errorMessage(e)));
    }
  };
  const loadTax = async () => {
    try {
      drawTax(await api.tax(month.value));
    } catch (e) {
      replace(taxBox, h("p", { class: "message error" }, errorMessage(e)));
    }
  };
  date.addEventListener("change", () => void loadNote());
  month.addEventListener("change", () => void loadTax());
  replace(root, h("section", { class: "notes" },
    h("h1", null, t("notes")),
    h("h2", null, t("note")), h("label", { class: "inline" }, t("date"), date), noteBox,
    h("h2", null, t("tax")), h("label", { class: "inline" }, t("month"), month), taxBox));
  void loadNote();
  void loadTax();
  return () => undefined;
}

export { spDate };
