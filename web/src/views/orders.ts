import { api } from "../api";
import { h, replace } from "../dom";
import { dateTime, money, parseCents, qty } from "../format";
import { errorText, t } from "../i18n";
import { live } from "../live";
import type { Order } from "../models";
import { errorMessage, showMessage, table, td, throttle } from "../ui";

const OPEN = new Set(["PENDING_NEW", "NEW", "PARTIALLY_FILLED"]);

export function ordersView(root: HTMLElement): () => void {
  let orders: Order[] = [];
  const expanded = new Set<string>();
  const editing = new Map<string, { q: string; p: string }>(); // open replace forms and what was typed in them
  const fills = new Map<string, Order>();
  const msg = h("p", { class: "message", "data-testid": "orders-message" });
  const openBox = h("div");
  const histBox = h("div");

  const replaceForm = (o: Order): HTMLElement => {
    const draft = editing.get(o.orderId);
    const q = h("input", { name: "replace-quantity", type: "number", min: 1, value: draft?.q ?? o.quantity,
      "aria-label": t("quantity") });
    const p = h("input", { name: "replace-price", inputmode: "decimal", "aria-label": t("price"),
      value: draft?.p ?? (o.priceCents ? (o.priceCents / 100).toFixed(2).replace(".", ",") : "") });
    const form = h("form", { class: "inline replace-form", hidden: !draft, onsubmit: async (ev: Event) => {
      ev.preventDefault();
      const body: { quantity?: number; priceCents?: number } = {};
      if (Number(q.value) !== o.quantity) body.quantity = Number(q.value);
      const c = parseCents(p.value);
      if (p.value && c === null) return showMessage(msg, errorText("INVALID_PRICE"), "error");
      if (c !== null && c !== o.priceCents) body.priceCents = c;
      try {
        await api.replace(o.orderId, body);
        editing.delete(o.orderId);
        showMessage(msg, `${t("replace")}: ${t("sent")}`, "ok");
        reload();
      } catch (e) {
        showMessage(msg, errorMessage(e), "error");
      }
    } }, q, p, h("button", { type: "submit", "data-testid": "replace-save" }, t("save")));
    form.addEventListener("input", () => editing.set(o.orderId, { q: q.value, p: p.value }));
    return form;
  };

  const drawOpen = () => {
    const open = orders.filter((o) => OPEN.has(o.status));
    const rows = open.map((o) => {
      const form = replaceForm(o);
      return [
        td(o.ticker, "ticker"), td(t(o.side), o.side === "BUY" ? "up" : "down"), td(t(o.orderType)),
        td(o.timeInForce), td(qty(o.quantity), "num"), td(qty(o.cumQuantity), "num"),
        td(o.priceCents ? money(o.priceCents) : "—", "num", { "data-testid": `open-price-${o.orderId}` }),
        td(t(o.status), "", { "data-testid": `open-status-${o.orderId}` }),
        td(h("div", { class: "actions" },
          h("button", { type: "button", "data-testid": `cancel-${o.orderId}`, onclick: async () => {
            try {
              await api.cancel(o.orderId);
              showMessage(msg, `${t("cancel")}: ${t("sent")}`, "ok");
              reload();
            } catch (e) {
              showMessage(msg, errorMessage(e), "error");
            }
          } }, t("cancel")),
          h("button", { type: "button", "data-testid": `replace-${o.orderId}`, onclick: () => {
            form.hidden = !form.hidden;
            if (form.hidden) editing.delete(o.orderId);
            else form.dispatchEvent(new Event("input"));
          } },
            t("replace")),
          form)),
      ];
    });
    replace(openBox, open.length
      ? table(["ticker", "side", "orderType", "tif", "quantity", "filled", "price", "status", ""], rows,
        { "data-testid": "open-orders" })
      : h("p", { class: "muted", "data-testid": "open-orders-empty" }, t("none")));
  };

  const drawHistory = () => {
    const rows: Node[][] = [];
    for (const o of orders) {
      rows.push([
        td(dateTime(o.createdAt)), td(o.ticker, "ticker"), td(t(o.side), o.side === "BUY" ? "up" : "down"),
        td(t(o.orderType)), td(qty(o.quantity), "num"), td(qty(o.cumQuantity), "num"),
        td(o.avgPriceCents ? money(o.avgPriceCents) : "—", "num"),
        td(t(o.status), "", { "data-testid": `hist-status-${o.orderId}` }),
        td(o.reason ? errorText(o.reason) : "", "reason", { "data-testid": `hist-reason-${o.orderId}` }),
        td(o.cumQuantity > 0 ? h("button", { type: "button", class: "link", onclick: async () => {
          if (expanded.has(o.orderId)) expanded.delete(o.orderId);
          else {
            expanded.add(o.orderId);
            try {
              fills.set(o.orderId, await api.order(o.orderId));
            } catch (e) {
              showMessage(msg, errorMessage(e), "error");
            }
          }
          drawHistory();
        } }, t("fills")) : ""),
      ]);
      const detail = fills.get(o.orderId);
      if (expanded.has(o.orderId) && detail?.fills) {
        rows.push([h("td", { colspan: 10, class: "fills" }, table(["when", "quantity", "price", "fees"],
          detail.fills.map((f) => [td(dateTime(f.occurredAt)), td(qty(f.quantity), "num"), td(money(f.priceCents), "num"),
            td(money(f.feesCents), "num")])))]);
      }
    }
    replace(histBox, table(["when", "ticker", "side", "orderType", "quantity", "filled", "avgPrice", "status", "reason", ""],
      rows, { "data-testid": "order-history" }));
  };

  const reload = throttle(async () => {
    try {
      orders = (await api.orders("?limit=100")).items;
      drawOpen();
      drawHistory();
    } catch (e) {
      showMessage(msg, errorMessage(e), "error");
    }
  }, 150);

  replace(root, h("section", { class: "orders" },
    h("h1", null, t("openOrders")), msg, openBox,
    h("h2", null, t("history")), histBox));
  const unsubscribe = live.subscribe(["orders"], { order: () => reload(), resync: () => reload() });
  reload();
  return unsubscribe;
}
