// Brazilian formatting: R$ 1.234,56; quantities with thousands dots; times in São Paulo.
const brl = new Intl.NumberFormat("pt-BR", { style: "currency", currency: "BRL" });
const int = new Intl.NumberFormat("pt-BR", { maximumFractionDigits: 0 });
const pct = new Intl.NumberFormat("pt-BR", { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "always" });

/** Cents (integer) to "R$ 1.234,56" (always a normal space after R$, whatever the ICU version uses). */
export function money(cents: number | null | undefined): string {
  if (cents === null || cents === undefined) return "—";
  return brl.format(cents / 100).replace(/R\$\s?/, "R$ ");
}

/** A price without the currency sign: "34,66". */
export function price(cents: number | null | undefined): string {
  if (cents === null || cents === undefined || cents === 0) return "—";
  return (cents / 100).toLocaleString("pt-BR", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export function qty(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : int.format(n);
}

export function percent(ratio: number): string {
  return `${pct.format(ratio * 100)}%`;
}

/** "34,66" or "34.66" or "R$ 1.234,56" typed by a person to cents; null if it is not a price. */
export function parseCents(text: string): number | null {
  let s = text.trim().replace(/^R\$\s*/, "").replace(/\s/g, "");
  if (!s) return null;
  if (s.includes(",")) s = s.replace(/\./g, "").replace(",", ".");
  if (!/^\d+(\.\d{1,2})?$/.test(s)) return null;
  const [whole, frac = ""] = s.split(".");
  return Number(whole) * 100 + Number((frac + "00").slice(0, 2));
}

const tz = "America/Sao_Paulo";

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("pt-BR", { timeZone: tz, dateStyle: "short", timeStyle: "medium" });
}

export function clock(iso: string): string {
  return new Date(iso).toLocaleString("pt-BR", {
    timeZone: tz, weekday: "short", day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit",
  });
}

/** The São Paulo date (YYYY-MM-DD) of an instant. */
export function spDate(iso: string): string {
  const d = new Date(iso);
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(d);
  return parts;
}
