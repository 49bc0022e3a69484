import { CandlestickSeries, createChart, type IChartApi, type ISeriesApi, type UTCTimestamp } from "lightweight-charts";
import { api } from "../api";
import { h, replace } from "../dom";
import { money, parseCents, percent, price, qty } from "../format";
import { errorText, t } from "../i18n";
import { live } from "../live";
import type { BookView, Order, PlaceOrder, Quote } from "../models";
import { errorMessage, showMessage, signed, throttle } from "../ui";
import { changeOf } from "./market";

const OPEN = new Set(["PENDING_NEW", "NEW", "PARTIALLY_FILLED"]);
const INTERVALS: Record<string, number> = { "1m": 60, "5m": 300, "1h": 3600, "1d": 86400 };
const SP_OFFSET_S = 3 * 3600; // a 1d bar starts at São Paulo midnight (03:00 UTC)

interface Candle { time: UTCTimestamp; open: number; high: number; low: number; close: number }

export function tickerView(root: HTMLElement, ticker: string): () => void {
  const base = ticker.replace(/F$/, "");
  let quote: Quote | null = null;
  let book: BookView | null = null;
  let mine: Order[] = [];
  let interval = "1d";
  let chart: IChartApi | null = null;
  let series: ISeriesApi<"Candlestick"> | null = null;
  let last: Candle | null = null;
  let watching: string | null = null; // the order the ticket placed last: its outcome is shown

  const head = h("div", { class: "quote-head" });
  const chartBox = h("div", { class: "chart", "data-testid": "chart" });
  const ladder = h("div", { class: "ladder", "data-testid": "book" });
  const ticketMsg = h("p", { class: "message", "data-testid": "ticket-message" });
  const buyingPower = h("strong", { "data-testid": "ticket-buying-power" }, "—");

  const drawHead = () => {
    if (!quote) {
      replace(head, h("h1", null, ticker));
      return;
    }
    const ch = changeOf(quote);
    replace(head,
      h("h1", null, ticker, " ", h("span", { class: "big", "data-testid": "quote-last" }, money(quote.lastCents)), " ",
        h("span", { class: signed(ch) }, percent(ch))),
      h("dl", { class: "facts" },
        h("dt", null, t("open")), h("dd", null, money(quote.openCents)),
        h("dt", null, t("high")), h("dd", null, money(quote.highCents)),
        h("dt", null, t("low")), h("dd", null, money(quote.lowCents)),
        h("dt", null, t("prevClose")), h("dd", null, money(quote.prevCloseCents)),
        h("dt", null, t("volume")), h("dd", null, qty(quote.dayVolume)),
        h("dt", null, t("phase")), h("dd", null, t(quote.phase))));
  };

  const drawBook = () => {
    if (!book) {
      replace(ladder, h("p", null, t("loading")));
      return;
    }
    const own = new Map<string, number>();
    for (const o of mine) {
      if (!OPEN.has(o.status) || o.priceCents === null) continue;
      const k = `${o.side}:${o.priceCents}`;
      own.set(k, (own.get(k) ?? 0) + o.leavesQuantity);
    }
    const rows: Node[] = [];
    const depth = 10;
    const asks = book.asks.slice(0, depth).reverse();
    for (const l of asks) {
      const m = own.get(`SELL:${l.priceCents}`);
      rows.push(h("tr", { class: `ask${m ? " mine" : ""}`, "data-price": l.priceCents },
        h("td", { class: "num" }, m ? h("span", { class: "mine-tag", title: t("mine") }, `★ ${qty(m)}`) : ""),
        h("td", null), h("td", { class: "num price ask" }, price(l.priceCents)),
        h("td", { class: "num" }, qty(l.quantity)), h("td", { class: "num muted" }, qty(l.orders))));
    }
    for (const l of book.bids.slice(0, depth)) {
      const m = own.get(`BUY:${l.priceCents}`);
      rows.push(h("tr", { class: `bid${m ? " mine" : ""}`, "data-price": l.priceCents },
        h("td", { class: "num muted" }, qty(l.orders)), h("td", { class: "num" }, qty(l.quantity)),
        h("td", { class: "num price bid" }, price(l.priceCents)), h("td", null),
        h("td", { class: "num" }, m ? h("span", { class: "mine-tag", title: t("mine") }, `★ ${qty(m)}`) : "")));
    }
    replace(ladder, h("h2", null, t("book"), " ", h("small", { class: "muted" }, t(book.phase))),
      h("div", { class: "table-wrap" }, h("table", { class: "book" },
        h("thead", null, h("tr", null, h("th", null, t("nOrders")), h("th", null, t("qty")), h("th", null, t("price")),
          h("th", null, t("qty")), h("th", null, t("nOrders")))),
        h("tbody", null, rows))));
  };

  // the chart: bars from GET /quotes/<ticker>/history, the current bar moved by each live trade
  const bucket = (sec: number) => {
    const size = INTERVALS[interval];
    const off = interval === "1d" ? SP_OFFSET_S : 0;
    return (Math.floor((sec - off) / size) * size + off) as UTCTimestamp;
  };
  const tick = (priceCents: number, sec: number) => {
    if (!series) return;
    const p = priceCents / 100;
    const time = bucket(sec);
    if (last && time < last.time) return;
    if (last && time === last.time) last = { ...last, high: Math.max(last.high, p), low: Math.min(last.low, p), close: p };
    else last = { time, open: p, high: p, low: p, close: p };
    series.update(last);
  };
  const loadChart = async () => {
    try {
      const hist = await api.history(ticker, interval);
      const bars: Candle[] = hist.bars.map((b) => ({
        time: Math.floor(Date.parse(b.start) / 1000) as UTCTimestamp, open: b.openCents / 100, high: b.highCents / 100,
        low: b.lowCents / 100, close: b.closeCents / 100,
      }));
      series?.setData(bars);
      last = bars.length ? bars[bars.length - 1] : null;
      chart?.timeScale().fitContent();
    } catch {
      series?.setData([]);
    }
  };
  const makeChart = () => {
    chart = createChart(chartBox, {
      autoSize: true, height: 300,
      layout: { background: { color: "#ffffff" }, textColor: "#1f2933" },
      localization: { locale: "pt-BR", priceFormatter: (p: number) => `R$ ${p.toLocaleString("pt-BR", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}` },
      timeScale: { timeVisible: interval !== "1d" },
    });
    series = chart.addSeries(CandlestickSeries, { upColor: "#0a8f3c", downColor: "#c62828", borderVisible: false,
      wickUpColor: "#0a8f3c", wickDownColor: "#c62828" });
  };

  const loadMine = throttle(async () => {
    try {
      mine = (await api.orders(`?ticker=${encodeURIComponent(ticker)}&limit=100`)).items;
      drawBook();
      if (watching) {
        const o = mine.find((x) => x.orderId === watching);
        if (o) showOutcome(o.status, o.reason, o);
      }
    } catch {
      /* shown by the next action */
    }
  }, 150);

  const showOutcome = (status: string, reason: string, o?: Order) => {
    if (status === "REJECTED") {
      showMessage(ticketMsg, `${t("REJECTED")}: ${errorText(reason)}`, "error");
    } else if (status === "FILLED") {
      showMessage(ticketMsg, `${t("FILLED")}${o ? `: ${qty(o.cumQuantity)} × ${money(o.avgPriceCents)}` : ""}`, "ok");
    } else if (status === "CANCELED" || status === "EXPIRED") {
      showMessage(ticketMsg, `${t(status)}${reason ? `: ${errorText(reason)}` : ""}`, "");
    } else {
      showMessage(ticketMsg, `${t("sent")} — ${t(status)}`, "ok");
    }
  };

  // the order ticket
  let side: "BUY" | "SELL" = "BUY";
  const buyBtn = h("button", { type: "button", class: "side buy active", "data-testid": "side-buy" }, t("buy"));
  const sellBtn = h("button", { type: "button", class: "side sell", "data-testid": "side-sell" }, t("sell"));
  const setSide = (s: "BUY" | "SELL") => {
    side = s;
    buyBtn.classList.toggle("active", s === "BUY");
    sellBtn.classList.toggle("active", s === "SELL");
  };
  buyBtn.addEventListener("click", () => setSide("BUY"));
  sellBtn.addEventListener("click", () => setSide("SELL"));
  const opt = (v: string) => h("option", { value: v }, t(v));
  const type = h("select", { name: "orderType", "aria-label": t("orderType") },
    ["LIMIT", "MARKET", "STOP", "STOP_LIMIT"].map(opt));
  const tif = h("select", { name: "timeInForce", "aria-label": t("tif") }, ["DAY", "IOC", "FOK", "GTC", "GTD"].map(opt));
  const quantity = h("input", { name: "quantity", type: "number", min: 1, step: 1, value: ticker.endsWith("F") ? 1 : 100,
    inputmode: "numeric", "aria-label": t("quantity") });
  const limit = h("input", { name: "price", inputmode: "decimal", placeholder: "0,00", "aria-label": t("limitPrice") });
  const stop = h("input", { name: "stopPrice", inputmode: "decimal", placeholder: "0,00", "aria-label": t("stopPrice") });
  const expire = h("input", { name: "expireDate", type: "date", "aria-label": t("expireDate") });
  const fractional = h("input", { name: "fractional", type: "checkbox", checked: ticker.endsWith("F") });
  const limitRow = h("label", null, t("limitPrice"), limit);
  const stopRow = h("label", null, t("stopPrice"), stop);
  const expireRow = h("label", null, t("expireDate"), expire);
  const sync = () => {
    const ty = type.value;
    limitRow.hidden = ty === "MARKET" || ty === "STOP";
    stopRow.hidden = !ty.startsWith("STOP");
    expireRow.hidden = tif.value !== "GTD";
  };
  type.addEventListener("change", sync);
  tif.addEventListener("change", sync);
  fractional.addEventListener("change", () => {
    const target = fractional.checked ? `${base}F` : base;
    if (target !== ticker) location.hash = `#/ticker/${target}`;
  });
  sync();
  const send = async (ev: Event) => {
    ev.preventDefault();
    const body: PlaceOrder = { ticker, side, orderType: type.value, timeInForce: tif.value,
      quantity: Number(quantity.value) };
    if (!limitRow.hidden) {
      const c = parseCents(limit.value);
      if (c === null) return showMessage(ticketMsg, errorText("INVALID_PRICE"), "error");
      body.priceCents = c;
    }
    if (!stopRow.hidden) {
      const c = parseCents(stop.value);
      if (c === null) return showMessage(ticketMsg, errorText("INVALID_PRICE"), "error");
      body.stopPriceCents = c;
    }
    if (!expireRow.hidden) body.expireDate = expire.value;
    showMessage(ticketMsg, t("loading"));
    try {
      const o = await api.place(body);
      watching = o.orderId;
      showOutcome(o.status, o.reason, o);
      loadMine();
      loadWallet(); // the hold is taken by the POST itself; the wallet channel follows the order's events
    } catch (e) {
      watching = null;
      showMessage(ticketMsg, errorMessage(e), "error");
    }
  };
  const ticket = h("form", { class: "ticket", onsubmit: send, "data-testid": "ticket" },
    h("h2", null, t("ticket")),
    h("div", { class: "sides" }, buyBtn, sellBtn),
    h("label", null, t("orderType"), type),
    h("label", null, t("tif"), tif),
    h("label", null, t("quantity"), quantity),
    limitRow, stopRow, expireRow,
    h("label", { class: "check" }, fractional, ` ${t("fractional")} (${base}F)`),
    h("button", { type: "submit", class: "primary", "data-testid": "send-order" }, t("send")),
    h("p", { class: "muted" }, `${t("buyingPower")}: `, buyingPower),
    ticketMsg);

  const intervalSel = h("select", { name: "interval", "aria-label": t("interval") },
    Object.keys(INTERVALS).map((i) => h("option", { value: i, selected: i === interval }, i)));
  intervalSel.addEventListener("change", () => {
    interval = intervalSel.value;
    chart?.applyOptions({ timeScale: { timeVisible: interval !== "1d" } });
    void loadChart();
  });

  replace(root, h("section", { class: "ticker-page" },
    head,
    h("div", { class: "grid" },
      h("div", { class: "chart-panel" }, h("div", { class: "panel-head" }, h("h2", null, t("chart")), intervalSel), chartBox),
      h("div", { class: "side-panel" }, ticket, ladder))));
  drawHead();
  drawBook();
  makeChart();

  const loadWallet = () => void api.wallet().then((w) => { buyingPower.textContent = money(w.buyingPowerCents); })
    .catch(() => undefined);
  const unsubscribe = live.subscribe([`quotes:${ticker}`, `trades:${ticker}`, `book:${ticker}`, "orders", "wallet"], {
    wallet: (w) => { buyingPower.textContent = money(w.buyingPowerCents); },
    quote: (q) => {
      quote = q;
      drawHead();
      if (live.mode !== "ws") tick(q.lastCents, Math.floor(Date.parse(q.ts) / 1000));
    },
    trade: (tr) => tick(tr.priceCents, Math.floor(tr.tsMs / 1000)),
    book: (b) => {
      book = b;
      drawBook();
    },
    order: (o) => {
      if (o.ticker === ticker) loadMine();
      if (o.orderId === watching) showOutcome(o.status, o.reason);
    },
    resync: () => { void loadChart(); loadMine(); loadWallet(); },
  });
  void api.quotes([ticker]).then((p) => {
    if (p.quotes[0]) {
      quote = p.quotes[0];
      drawHead();
    }
  }).catch(() => undefined);
  void loadChart();
  loadMine();
  loadWallet();
  return () => {
    unsubscribe();
    chart?.remove();
  };
}
