// The live layer: the WebSocket streaming API of docs/streaming.md, or, when it cannot be reached (no wsUrl, the
// handshake refused, the server gone), polling of the HTTP API with the same callbacks. Views only see typed
// callbacks: a quote, a trade, the whole L2 book (snapshot + L2 events applied in seq order), one of the user's
// order events, the user's wallet; and `resync` after a reconnect, to re-read what was missed.
import { api } from "./api";
import { accessToken } from "./auth";
import { config } from "./config";
import type { BookView, Level, Quote, Wallet } from "./models";

export interface TradeTick { ticker: string; priceCents: number; quantity: number; tsMs: number }
export interface OrderTick { orderId: string; eventType: string; status: string; ticker: string; reason: string }
export type Mode = "connecting" | "ws" | "poll";

export interface Handlers {
  quote?: (q: Quote) => void;
  trade?: (t: TradeTick) => void;
  book?: (b: BookView) => void;
  order?: (o: OrderTick) => void;
  wallet?: (w: Wallet) => void;
  resync?: () => void;
}

type Raw = Record<string, unknown>;
const POLL_MS = 1500;
const PING_MS = 4 * 60_000;

interface Sub { channels: string[]; handlers: Handlers }

class BookState {
  seq = -1;
  ready = false;
  pending: Raw[] = [];
  view: BookView;
  constructor(ticker: string) {
    this.view = { instrument: ticker, seq: -1, phase: "", referencePriceCents: 0, lastPriceCents: 0, bids: [], asks: [] };
  }
  snapshot(s: Raw): void {
    const lv = (x: unknown): Level[] => ((x as Raw[] | undefined) ?? []).map((l) => ({
      priceCents: Number(l.price_cents ?? l.priceCents), quantity: Number(l.quantity), orders: Number(l.orders),
    }));
    this.view = {
      instrument: String(s.instrument ?? this.view.instrument), seq: Number(s.seq), phase: String(s.phase ?? ""),
      referencePriceCents: Number(s.reference_price_cents ?? s.referencePriceCents ?? 0),
      lastPriceCents: Number(s.last_price_cents ?? s.lastPriceCents ?? 0), bids: lv(s.bids), asks: lv(s.asks),
    };
    this.seq = this.view.seq;
    this.ready = true;
    const queued = this.pending;
    this.pending = [];
    for (const e of queued) this.apply(e);
  }
  /** True when the event changed the book. */
  apply(e: Raw): boolean {
    if (!this.ready) {
      this.pending.push(e);
      return false;
    }
    const seq = Number(e.seq);
    if (seq <= this.seq) return false;
    this.seq = seq;
    this.view.seq = seq;
    if (e.type === "PHASE") {
      this.view.phase = String(e.phase);
      return true;
    }
    if (e.type !== "L2") return false;
    const bid = String(e.side).toUpperCase().startsWith("B");
    const levels = bid ? this.view.bids : this.view.asks;
    const price = Number(e.price_cents);
    const i = levels.findIndex((l) => l.priceCents === price);
    const quantity = Number(e.quantity);
    if (quantity === 0) {
      if (i >= 0) levels.splice(i, 1);
    } else if (i >= 0) {
      levels[i] = { priceCents: price, quantity, orders: Number(e.order_count) };
    } else {
      levels.push({ priceCents: price, quantity, orders: Number(e.order_count) });
      levels.sort((a, b) => (bid ? b.priceCents - a.priceCents : a.priceCents - b.priceCents));
    }
    return true;
  }
}

function quoteFromEvent(d: Raw): Quote {
  return {
    ticker: String(d.ticker), ts: String(d.ts), tradingDate: String(d.trading_date), lastCents: Number(d.last_cents),
    referenceCents: Number(d.reference_cents), openCents: d.open_cents as number | null,
    highCents: d.high_cents as number | null, lowCents: d.low_cents as number | null,
    prevCloseCents: d.prev_close_cents as number | null, dayVolume: Number(d.day_volume ?? 0),
    tickVolume: Number(d.tick_volume ?? 0), source: String(d.source ?? ""), mode: String(d.mode ?? ""),
    phase: String(d.phase ?? ""),
  };
}

export class Live {
  mode: Mode = "connecting";
  private ws: WebSocket | null = null;
  private subs = new Set<Sub>();
  private books = new Map<string, BookState>();
  private modeListeners: ((m: Mode) => void)[] = [];
  private pollTimer: number | undefined;
  private pingTimer: number | undefined;
  private retryTimer: number | undefined;
  private retries = 0;
  private stopped = true;
  private seenOrders = new Map<string, string>();
  private ordersPrimed = false;
  private nextId = 1;

  onMode(f: (m: Mode) => void): void {
    this.modeListeners.push(f);
    f(this.mode);
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.pollTimer);
    window.clearInterval(this.pingTimer);
    this.pollTimer = undefined;
    this.ws?.close(1000);
    this.ws = null;
    this.subs.clear();
    this.books.clear();
    this.seenOrders.clear();
    this.ordersPrimed = false;
  }

  /** Subscribes `handlers` to `channels`; the returned function unsubscribes them. */
  subscribe(channels: string[], handlers: Handlers): () => void {
    const sub: Sub = { channels, handlers };
    const before = this.channels();
    this.subs.add(sub);
    const added = channels.filter((c) => !before.has(c));
    for (const c of added) if (c.startsWith("book:")) this.books.set(c.slice(5), new BookState(c.slice(5)));
    if (added.length) this.send({ action: "subscribe", channels: added });
    if (this.mode !== "ws") for (const c of added) if (c.startsWith("book:")) void this.fetchBook(c.slice(5));
    for (const c of channels) {
      const b = c.startsWith("book:") ? this.books.get(c.slice(5)) : undefined;
      if (b?.ready) handlers.book?.(b.view);
    }
    return () => {
      this.subs.delete(sub);
      const after = this.channels();
      const gone = channels.filter((c) => !after.has(c));
      for (const c of gone) if (c.startsWith("book:")) this.books.delete(c.slice(5));
      if (gone.length) this.send({ action: "unsubscribe", channels: gone });
    };
  }

  private channels(): Set<string> {
    const all = new Set<string>();
    for (const s of this.subs) for (const c of s.channels) all.add(c);
    return all;
  }

  private setMode(m: Mode): void {
    if (this.mode === m) return;
    this.mode = m;
    for (const f of this.modeListeners) f(m);
    if (m === "poll" && this.pollTimer === undefined) {
      this.pollTimer = window.setInterval(() => void this.poll(), POLL_MS);
      void this.poll();
    }
    if (m === "ws" && this.pollTimer !== undefined) {
      window.clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  private send(frame: Raw): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ ...frame, id: `c${this.nextId++}` }));
  }

  private async connect(): Promise<void> {
    const url = config().wsUrl;
    const token = await accessToken();
    if (!url || !token || this.stopped) {
      this.setMode("poll");
      return;
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, ["mybroker.v1", token]);
    } catch {
      this.setMode("poll");
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.retries = 0;
      for (const b of this.books.values()) {
        b.ready = false;
        b.pending = [];
      }
      const channels = [...this.channels()];
      if (channels.length) this.send({ action: "subscribe", channels });
      const wasPolling = this.mode === "poll";
      this.setMode("ws");
      window.clearInterval(this.pingTimer);
      this.pingTimer = window.setInterval(() => this.send({ action: "ping" }), PING_MS);
      if (wasPolling) for (const s of this.subs) s.handlers.resync?.();
    };
    ws.onmessage = (m) => this.onFrame(JSON.parse(String(m.data)) as Raw);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      window.clearInterval(this.pingTimer);
      if (this.stopped) return;
      this.setMode("poll");
      this.retry();
    };
  }

  private retry(): void {
    window.clearTimeout(this.retryTimer);
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.retries++, 5));
    this.retryTimer = window.setTimeout(() => void this.connect(), delay);
  }

  private onFrame(f: Raw): void {
    if (f.type === "subscribed") {
      const snaps = (f.snapshots ?? {}) as Record<string, Raw>;
      for (const c of (f.channels as string[] | undefined) ?? []) {
        if (!c.startsWith("book:")) continue;
        const ticker = c.slice(5);
        const b = this.books.get(ticker);
        if (!b) continue;
        if (snaps[c]) {
          b.snapshot(snaps[c]);
          this.emitBook(ticker);
        } else {
          void this.fetchBook(ticker);
        }
      }
    } else if (f.type === "events") {
      for (const e of (f.events as Raw[] | undefined) ?? []) this.onEvent(String(e.channel), e.data as Raw);
    } else if (f.type === "error") {
      console.warn("streaming error", f);
    }
  }

  private onEvent(channel: string, d: Raw): void {
    const [kind, ticker = ""] = channel.split(":");
    if (kind === "quotes") this.emit((h) => h.quote?.(quoteFromEvent(d)), channel);
    else if (kind === "trades") {
      const t: TradeTick = { ticker, priceCents: Number(d.price_cents), quantity: Number(d.quantity),
        tsMs: Math.floor(Number(d.ts_ns) / 1e6) };
      this.emit((h) => h.trade?.(t), channel);
    } else if (kind === "book") {
      const b = this.books.get(ticker);
      if (b?.apply(d)) this.emitBook(ticker);
    } else if (kind === "orders") {
      const o: OrderTick = { orderId: String(d.order_id), eventType: String(d.event_type), status: String(d.status),
        ticker: String(d.instrument), reason: String(d.reason ?? "") };
      this.emit((h) => h.order?.(o), channel);
    } else if (kind === "wallet") {
      const w = d.wallet as Wallet | undefined;
      if (w) this.emit((h) => h.wallet?.(w), channel);
    }
  }

  private emit(f: (h: Handlers) => void, channel: string): void {
    for (const s of this.subs) if (s.channels.includes(channel)) f(s.handlers);
  }

  private emitBook(ticker: string): void {
    const b = this.books.get(ticker);
    if (b) this.emit((h) => h.book?.(b.view), `book:${ticker}`);
  }

  private async fetchBook(ticker: string): Promise<void> {
    try {
      const view = await api.book(ticker);
      const b = this.books.get(ticker);
      if (!b) return;
      b.snapshot({ ...view } as unknown as Raw);
      this.emitBook(ticker);
    } catch {
      /* no book for this ticker yet */
    }
  }

  /** Polling mode: what the WebSocket would have pushed, read from the HTTP API. */
  private async poll(): Promise<void> {
    const channels = this.channels();
    const tickers = [...channels].filter((c) => c.startsWith("quotes:")).map((c) => c.slice(7));
    const work: Promise<void>[] = [];
    if (tickers.length) {
      work.push(api.quotes(tickers).then((page) => {
        for (const q of page.quotes) this.emit((h) => h.quote?.(q), `quotes:${q.ticker}`);
      }));
    }
    for (const ticker of this.books.keys()) work.push(this.fetchBook(ticker));
    if (channels.has("orders")) {
      work.push(api.orders("?limit=50").then((page) => {
        const primed = this.ordersPrimed;
        for (const o of page.items) {
          const sig = `${o.status}/${o.cumQuantity}/${o.quantity}/${o.priceCents}`;
          if (this.seenOrders.get(o.orderId) === sig) continue;
          this.seenOrders.set(o.orderId, sig);
          if (!primed) continue;
          this.emit((h) => h.order?.({ orderId: o.orderId, eventType: "poll", status: o.status, ticker: o.ticker,
            reason: o.reason }), "orders");
        }
        this.ordersPrimed = true;
      }));
    }
    if (channels.has("wallet")) work.push(api.wallet().then((w) => this.emit((h) => h.wallet?.(w), "wallet")));
    await Promise.allSettled(work);
  }
}

export const live = new Live();
