import "./style.css";
import { api, setUnauthorizedHandler } from "./api";
import { currentSession, logout } from "./auth";
import { loadConfig } from "./config";
import { h, replace } from "./dom";
import { clock, spDate } from "./format";
import { currentLang, onLangChange, setLang, t } from "./i18n";
import { live, type Mode } from "./live";
import type { MarketStatus } from "./models";
import { loginView } from "./views/login";
import { marketView } from "./views/market";
import { notesView } from "./views/notes";
import { ordersView } from "./views/orders";
import { tickerView } from "./views/ticker";
import { walletView } from "./views/wallet";

const app = document.getElementById("app") as HTMLElement;
let cleanup: () => void = () => undefined;
let status: MarketStatus | null = null;
let statusAt = 0;
let mode: Mode = "connecting";
let statusTimer: number | undefined;
let clockTimer: number | undefined;

const clockEl = h("span", { class: "clock", "data-testid": "clock" });
const phaseEl = h("span", { class: "phase", "data-testid": "phase" });
const modeEl = h("span", { class: "mode", "data-testid": "live-mode" });

function drawClock(): void {
  if (!status) return;
  // the simulated clock: the server's "now" moved on by the time since it was read
  const now = new Date(Date.parse(status.now) + (Date.now() - statusAt));
  clockEl.textContent = clock(now.toISOString());
  phaseEl.textContent = t(status.phase);
  phaseEl.className = `phase ${status.phase === "CONTINUOUS" ? "on" : ""}`;
}

function drawMode(): void {
  modeEl.textContent = mode === "ws" ? `● ${t("live")}` : mode === "poll" ? `○ ${t("polling")}` : "…";
  modeEl.className = `mode ${mode}`;
}

async function refreshStatus(): Promise<void> {
  try {
    status = await api.marketStatus();
    statusAt = Date.now();
    drawClock();
  } catch {
    /* the next tick tries again */
  }
}

/** The simulated clock's date in São Paulo. */
function today(): string {
  return spDate(status ? status.now : new Date().toISOString());
}

function route(): void {
  cleanup();
  cleanup = () => undefined;
  const session = currentSession();
  const hash = location.hash.replace(/^#\/?/, "");
  if (!session) {
    stopApp();
    cleanup = loginView(app, () => {
      startApp();
      go("#/market");
    });
    return;
  }
  startApp();
  const [page, arg] = hash.split("/");
  const nav = (href: string, key: string) =>
    h("a", { href, class: `#/${page}` === href ? "active" : "", "data-testid": `nav-${key}` }, t(key));
  const langBtn = h("button", { type: "button", class: "lang", "data-testid": "lang-toggle",
    onclick: () => setLang(currentLang() === "pt" ? "en" : "pt") }, currentLang() === "pt" ? "EN" : "PT");
  const main = h("main");
  replace(app,
    h("header", null,
      h("a", { href: "#/market", class: "brand" }, t("appName")),
      h("nav", null, nav("#/market", "market"), nav("#/orders", "orders"), nav("#/wallet", "wallet"),
        nav("#/notes", "notes")),
      h("div", { class: "status" }, phaseEl, clockEl, modeEl),
      h("div", { class: "user" }, h("span", { class: "email", "data-testid": "user-email" }, session.email), langBtn,
        h("button", { type: "button", "data-testid": "logout", onclick: () => { logout(); go("#/login"); } },
          t("logout")))),
    main);
  drawClock();
  drawMode();
  if (page === "ticker" && arg) cleanup = tickerView(main, arg.toUpperCase());
  else if (page === "orders") cleanup = ordersView(main);
  else if (page === "wallet") cleanup = walletView(main, today, () => status?.nextTradingDays ?? []);
  else if (page === "notes") cleanup = notesView(main, today());
  else cleanup = marketView(main);
}

function go(hash: string): void {
  if (location.hash !== hash) location.hash = hash; // the hashchange routes
  else route();
}

let started = false;

function startApp(): void {
  if (started) return;
  started = true;
  live.start();
  void refreshStatus();
  statusTimer = window.setInterval(() => void refreshStatus(), 10_000);
  clockTimer = window.setInterval(drawClock, 1000);
}

function stopApp(): void {
  if (!started) return;
  started = false;
  live.stop();
  window.clearInterval(statusTimer);
  window.clearInterval(clockTimer);
}

async function boot(): Promise<void> {
  try {
    await loadConfig();
  } catch (e) {
    replace(app, h("p", { class: "message error" }, String(e)));
    return;
  }
  document.documentElement.lang = currentLang() === "pt" ? "pt-BR" : "en";
  live.onMode((m) => {
    mode = m;
    drawMode();
  });
  setUnauthorizedHandler(() => {
    logout();
    route();
  });
  onLangChange(route);
  window.addEventListener("hashchange", route);
  route();
}

void boot();
