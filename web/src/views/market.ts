import { api } from "../api";
import { h, replace } from "../dom";
import { money, percent, qty } from "../format";
import { t } from "../i18n";
import { live } from "../live";
import type { Quote } from "../models";
import { errorMessage, showMessage, signed, table, td } from "../ui";

const KEY = "mybroker.watchlist";
const DEFAULT = ["PETR4", "VALE3", "ITUB4", "BBDC4", "ABEV3", "BBAS3", "B3SA3", "WEGE3"];

export function watchlist(): string[] {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? "null") as string[] | null;
    return saved && saved.length ? saved : [...DEFAULT];
  } catch {
    return [...DEFAULT];
  }
}

function saveWatchlist(list: string[]): void {
  localStorage.setItem(KEY, JSON.stringify(list));
}

export function changeOf(q: Quote): number {
  const base = q.prevCloseCents || q.referenceCents;
  return base ? (q.lastCents - base) / base : 0;
}

export function marketView(root: HTMLElement): () => void {
  const quotes = new Map<string, Quote>();
  let list = watchlist();
  const body = h("div");
  const msg = h("p", { class: "message" });
  let unsubscribe: () => void = () => undefined;

  const row = (ticker: string): Node[] => {
    const q = quotes.get(ticker);
    const ch = q ? changeOf(q) : 0;
    return [
      td(h("a", { href: `#/ticker/${ticker}`, "data-testid": `watch-${ticker}` }, ticker), "ticker"),
      td(q ? money(q.lastCents) : "—", "num", { "data-testid": `last-${ticker}` }),
      td(q ? percent(ch) : "—", `num ${signed(ch)}`),
      td(q ? qty(q.dayVolume) : "—", "num"),
      td(q ? t(q.phase) : "—"),
      td(h("button", { class: "icon", title: t("remove"), "aria-label": `${t("remove")} ${ticker}`,
        onclick: () => { list = list.filter((x) => x !== ticker); saveWatchlist(list); resubscribe(); draw(); } }, "×")),
    ];
  };
  const draw = () => {
    replace(body, table(["ticker", "last", "change", "volume", "phase", ""], list.map(row),
      { "data-testid": "watchlist" }));
  };
  const load = async () => {
    try {
      const page = await api.quotes(list);
      for (const q of page.quotes) quotes.set(q.ticker, q);
      draw();
    } catch (e) {
      showMessage(msg, errorMessage(e), "error");
    }
  };
  const resubscribe = () => {
    unsubscribe();
    unsubscribe = live.subscribe(list.map((x) => `quotes:${x}`), {
      quote: (q) => {
        quotes.set(q.ticker, q);
        draw();
      },
      resync: () => void load(),
    });
  };
  const input = h("input", { name: "add-ticker", placeholder: "PETR4", maxlength: 7, "aria-label": t("ticker") });
  const add = (ev: Event) => {
    ev.preventDefault();
    const ticker = input.value.trim().toUpperCase();
    if (!/^[A-Z0-9]{4}[0-9]{1,2}F?$/.test(ticker) || list.includes(ticker)) return;
    list = [...list, ticker];
    saveWatchlist(list);
    input.value = "";
    resubscribe();
    void load();
  };
  replace(root, h("section", { class: "market" },
    h("h1", null, t("watchlist")),
    h("form", { class: "inline", onsubmit: add }, input, h("button", { type: "submit" }, t("add"))),
    msg, body));
  draw();
  resubscribe();
  void load();
  return () => unsubscribe();
}
