import { api } from "../api";
import { h, replace } from "../dom";
import { dateTime, money, parseCents, percent, qty } from "../format";
import { t } from "../i18n";
import { live } from "../live";
import type { Positions, Statement, Wallet } from "../models";
import { card, errorMessage, showMessage, signed, table, td, throttle } from "../ui";

/** B3 business days from `today` to `day` (YYYY-MM-DD): the n of D+n. `ahead` is B3's calendar from the
 *  market status (holidays skipped); past it, Monday to Friday are counted. */
function businessDays(today: string, day: string, ahead: string[]): number {
  if (day <= today) return 0;
  const i = ahead.indexOf(day);
  if (i >= 0) return i + 1;
  let n = 0;
  const d = new Date(`${today}T12:00:00Z`);
  const end = new Date(`${day}T12:00:00Z`);
  while (d < end) {
    d.setUTCDate(d.getUTCDate() + 1);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) n++;
  }
  return n;
}

export function walletView(root: HTMLElement, today: () => string, tradingDays: () => string[]): () => void {
  const cards = h("div", { class: "cards", "data-testid": "wallet-cards" });
  const projBox = h("div");
  const posBox = h("div");
  const stmtBox = h("div");
  const msg = h("p", { class: "message", "data-testid": "pix-message" });

  const drawWallet = (w: Wallet) => {
    // settled cash is what is in the account now (free + held for open orders); receivable/payable settle at D+2
    replace(cards,
      card("available", money(w.availableCents), "wallet-available"),
      card("reserved", money(w.reservedCents), "wallet-reserved"),
      card("settled", money(w.availableCents + w.reservedCents), "wallet-settled"),
      card("receivable", money(w.receivableCents), "wallet-receivable"),
      card("payable", money(w.payableCents), "wallet-payable"),
      ...(w.irrfDueCents ? [card("irrfDue", money(w.irrfDueCents), "wallet-irrf-due")] : []),
      card("buyingPower", money(w.buyingPowerCents), "wallet-buying-power"));
    replace(projBox, w.projected.length
      ? table(["settleDate", "credits", "debits", "balance"], w.projected.map((p) => [
        td(`D+${businessDays(today(), p.settleDate, tradingDays())} · ${p.settleDate.split("-").reverse().join("/")}`), td(money(p.creditsCents), "num up"),
        td(money(p.debitsCents), "num down"), td(money(p.balanceCents), "num")]), { "data-testid": "projected" })
      : h("p", { class: "muted" }, t("none")));
  };
  const drawPositions = (p: Positions) => {
    replace(posBox, p.items.length
      ? table(["ticker", "quantity", "avgPrice", "last", "cost", "marketValue", "pnl"], p.items.map((x) => {
        const pnl = x.marketValueCents === null ? null : x.marketValueCents - x.costCents;
        return [
          td(h("a", { href: `#/ticker/${x.ticker}` }, x.ticker), "ticker"),
          td(qty(x.totalQuantity), "num", { "data-testid": `pos-qty-${x.ticker}` }),
          td(money(x.averagePriceCents), "num"), td(money(x.lastPriceCents), "num"), td(money(x.costCents), "num"),
          td(money(x.marketValueCents), "num"),
          td(pnl === null ? "—" : `${money(pnl)} (${percent(x.costCents ? pnl / x.costCents : 0)})`,
            `num ${signed(pnl ?? 0)}`),
        ];
      }), { "data-testid": "positions" })
      : h("p", { class: "muted", "data-testid": "positions-empty" }, t("none")));
  };
  const drawStatement = (s: Statement) => {
    replace(stmtBox, table(["when", "kind", "memo", "asset", "amount"],
      s.items.filter((l) => l.bucket === "available" || l.asset !== "BRL").map((l) => [
        td(dateTime(l.postedAt)), td(l.kind), td(l.memo), td(l.asset),
        td(l.asset === "BRL" ? money(l.amount) : qty(l.amount), `num ${signed(l.amount)}`)]),
      { "data-testid": "statement" }));
  };

  const reloadWallet = async () => drawWallet(await api.wallet());
  const reloadRest = throttle(async () => {
    const [p, s] = await Promise.all([api.positions(), api.statement()]);
    drawPositions(p);
    drawStatement(s);
  }, 300);
  const reload = () => {
    reloadWallet().catch((e) => showMessage(msg, errorMessage(e), "error"));
    reloadRest();
  };

  const amount = h("input", { name: "amount", inputmode: "decimal", placeholder: "1.000,00", "aria-label": t("amount") });
  const pix = async (kind: "deposit" | "withdraw") => {
    const cents = parseCents(amount.value);
    if (cents === null || cents <= 0) return showMessage(msg, t("amount") + "?", "error");
    try {
      const r = kind === "deposit" ? await api.deposit(cents) : await api.withdraw(cents);
      drawWallet(r.wallet);
      amount.value = "";
      showMessage(msg, `${t(kind)}: ${money(cents)} — ${t("done")}`, "ok");
      reloadRest();
    } catch (e) {
      showMessage(msg, errorMessage(e), "error");
    }
  };

  replace(root, h("section", { class: "wallet" },
    h("h1", null, t("wallet")), cards,
    h("form", { class: "pix inline", "data-testid": "pix", onsubmit: (ev: Event) => { ev.preventDefault(); void pix("deposit"); } },
      h("strong", null, t("pix")), amount,
      h("button", { type: "submit", class: "primary", "data-testid": "pix-deposit" }, t("deposit")),
      h("button", { type: "button", "data-testid": "pix-withdraw", onclick: () => void pix("withdraw") }, t("withdraw"))),
    msg,
    h("h2", null, t("projected")), projBox,
    h("h2", null, t("positions")), posBox,
    h("h2", null, t("statement")), stmtBox));
  const unsubscribe = live.subscribe(["wallet", "orders"], {
    wallet: (w) => {
      drawWallet(w);
      reloadRest();
    },
    order: () => reloadRest(),
    resync: reload,
  });
  reload();
  return unsubscribe;
}
