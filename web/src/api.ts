// The HTTP API (docs at /docs/orders, /docs/wallet, /docs/assets, /docs/market-data, /docs/wallet-reports).
import { accessToken } from "./auth";
import { config } from "./config";
import type * as M from "./models";

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;

export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = await accessToken();
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let r: Response;
  try {
    r = await fetch(config().apiUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "NETWORK", "network error");
  }
  const text = await r.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!r.ok) {
    if (r.status === 401) onUnauthorized();
    const d = (data ?? {}) as { code?: string; message?: string };
    throw new ApiError(r.status, d.code ?? (r.status === 401 ? "UNAUTHENTICATED" : `HTTP_${r.status}`),
      d.message ?? String(text));
  }
  return data as T;
}

export async function download(path: string): Promise<Blob> {
  const token = await accessToken();
  const r = await fetch(config().apiUrl + path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!r.ok) {
    const d = (await r.json().catch(() => ({}))) as { code?: string; message?: string };
    throw new ApiError(r.status, d.code ?? `HTTP_${r.status}`, d.message ?? "");
  }
  return r.blob();
}

const enc = encodeURIComponent;

export const api = {
  marketStatus: () => request<M.MarketStatus>("GET", "/market/status"),
  quotes: (tickers: string[]) => request<M.QuotesPage>("GET", `/quotes?tickers=${tickers.map(enc).join(",")}`),
  history: (ticker: string, interval: string) =>
    request<M.History>("GET", `/quotes/${enc(ticker)}/history?interval=${enc(interval)}`),
  book: (ticker: string) => request<M.BookView>("GET", `/market/book/${enc(ticker)}`),
  asset: (ticker: string) => request<M.Instrument>("GET", `/assets/${enc(ticker)}`),
  orders: (q = "") => request<M.OrderPage>("GET", `/orders${q}`),
  order: (id: string) => request<M.Order>("GET", `/orders/${enc(id)}`),
  place: (body: M.PlaceOrder) => request<M.Order>("POST", "/orders", body),
  replace: (id: string, body: { quantity?: number; priceCents?: number }) =>
    request<M.Order>("PATCH", `/orders/${enc(id)}`, body),
  cancel: (id: string) => request<M.Order>("DELETE", `/orders/${enc(id)}`),
  wallet: () => request<M.Wallet>("GET", "/wallet"),
  positions: () => request<M.Positions>("GET", "/wallet/positions"),
  statement: () => request<M.Statement>("GET", "/wallet/statement?limit=50"),
  deposit: (amountCents: number) =>
    request<M.Transfer>("POST", "/wallet/deposits", { amountCents, idempotencyKey: crypto.randomUUID() }),
  withdraw: (amountCents: number) =>
    request<M.Transfer>("POST", "/wallet/withdrawals", { amountCents, idempotencyKey: crypto.randomUUID() }),
  note: (date: string) => request<M.Note>("GET", `/wallet/notes?date=${enc(date)}`),
  notePdf: (date: string) => download(`/wallet/notes/${enc(date)}/pdf`),
  tax: (month: string) => request<M.TaxMonth>("GET", `/wallet/tax/${enc(month)}`),
};
