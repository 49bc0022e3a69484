// Shared bits of the screens: tables, messages, throttling.
import { ApiError } from "./api";
import { AuthError } from "./auth";
import { h } from "./dom";
import { errorText, t } from "./i18n";

export function table(headers: string[], rows: Node[][], attrs: Record<string, unknown> = {}): HTMLElement {
  return h("div", { class: "table-wrap" },
    h("table", attrs,
      h("thead", null, h("tr", null, headers.map((x) => h("th", null, t(x))))),
      h("tbody", null, rows.map((r) => h("tr", null, r)))));
}

export function td(content: string | Node, cls = "", attrs: Record<string, unknown> = {}): HTMLTableCellElement {
  return h("td", { class: cls || null, ...attrs }, content);
}

/** The message for an error: the code in words, with the server's own message as a tooltip. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError || e instanceof AuthError) return errorText(e.code, e.message);
  return String(e);
}

export function showMessage(el: HTMLElement, text: string, kind: "ok" | "error" | "" = ""): void {
  el.textContent = text;
  el.className = `message ${kind}`;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
}

/** Runs `f` at most once per `ms`, always finishing with a call after the last request. */
export function throttle(f: () => void | Promise<void>, ms = 250): () => void {
  let timer: number | undefined;
  let running = false;
  let again = false;
  const run = async () => {
    timer = undefined;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await f();
    } finally {
      running = false;
      if (again) {
        again = false;
        timer = window.setTimeout(run, ms);
      }
    }
  };
  return () => {
    if (timer === undefined) timer = window.setTimeout(run, ms);
  };
}

export function signed(cents: number): string {
  return cents > 0 ? "up" : cents < 0 ? "down" : "";
}

export function card(label: string, value: string, id: string): HTMLElement {
  return h("div", { class: "card" }, h("div", { class: "card-label" }, t(label)),
    h("div", { class: "card-value", "data-testid": id }, value));
}
