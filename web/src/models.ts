// The HTTP API's bodies, as its OpenAPI documents name them (GET /docs/<service>?format=json).
export interface MarketStatus {
  now: string; phase: string; tradingDay: boolean; variant: string; nextChangeAt: string; nextPhase: string;
  nextTradingDays: string[];
}
export interface Quote {
  ticker: string; ts: string; tradingDate: string; lastCents: number; referenceCents: number;
  openCents: number | null; highCents: number | null; lowCents: number | null; prevCloseCents: number | null;
  dayVolume: number; tickVolume: number; source: string; mode: string; phase: string;
}
export interface QuotesPage { quotes: Quote[]; missing: string[] }
export interface Bar {
  start: string; openCents: number; highCents: number; lowCents: number; closeCents: number; volume: number;
  trades: number; notionalCents: number;
}
export interface History { ticker: string; interval: string; start: string; end: string; bars: Bar[] }
export interface Level { priceCents: number; quantity: number; orders: number }
export interface BookView {
  instrument: string; seq: number; phase: string; referencePriceCents: number; lastPriceCents: number;
  bids: Level[]; asks: Level[];
}
export interface Instrument {
  ticker: string; name: string; kind: string; roundLot: number; tickSizeCents: number; status: string;
  fractional: string | null;
}
export interface Fill {
  execId: number; tradeId: number; quantity: number; priceCents: number; feesCents: number; occurredAt: string;
}
export interface Order {
  orderId: string; clientOrderId: string; ticker: string; side: "BUY" | "SELL"; orderType: string;
  timeInForce: string; quantity: number; priceCents: number | null; stopPriceCents: number | null;
  expireDate: string | null; status: string; cumQuantity: number; leavesQuantity: number; avgPriceCents: number;
  reason: string; tradeDate: string; createdAt: string; updatedAt: string | null; fills: Fill[] | null;
}
export interface OrderPage { items: Order[]; total: number; limit: number; offset: number }
export interface PlaceOrder {
  ticker: string; side: "BUY" | "SELL"; orderType: string; timeInForce: string; quantity: number;
  priceCents?: number; stopPriceCents?: number; expireDate?: string; clientOrderId?: string;
}
export interface Projected { settleDate: string; creditsCents: number; debitsCents: number; balanceCents: number }
export interface Wallet {
  accountId: string; currency: string; availableCents: number; reservedCents: number; receivableCents: number;
  payableCents: number; irrfDueCents: number; buyingPowerCents: number; projected: Projected[];
}
export interface Position {
  ticker: string; availableQuantity: number; reservedQuantity: number; receivableQuantity: number;
  totalQuantity: number; averagePriceCents: number; costCents: number; lastPriceCents: number | null;
  marketValueCents: number | null; quoteAt: string | null;
}
export interface Positions { items: Position[]; marketValueCents: number }
export interface StatementLine {
  id: number; entryId: number; postedAt: string; kind: string; ref: string; memo: string; bucket: string;
  asset: string; amount: number;
}
export interface Statement { items: StatementLine[]; nextCursor: number | null }
export interface Transfer { entryId: number; kind: string; amountCents: number; createdAt: string; wallet: Wallet }
export interface NoteTrade {
  side: string; market: string; ticker: string; obs: string; quantity: number; priceCents: number;
  valueCents: number; dc: string; dayTradeQuantity: number;
}
export interface Note {
  number: number; tradeDate: string; settleDate: string; trades: NoteTrade[]; salesCents: number;
  purchasesCents: number; netOperationsCents: number; settlementFeeCents: number; registrationFeeCents: number;
  tradingFeeCents: number; brokerageCents: number; issCents: number; irrfCents: number; dayTradeIrrfCents: number;
  feesCents: number; netCents: number;
}
export interface TaxPool {
  pool: string; gainsCents: number; lossesCents: number; exemptGainsCents: number; lossCarriedInCents: number;
  taxableCents: number; lossCarriedOutCents: number; ratePercent: string; taxCents: number;
}
export interface TaxMonth {
  month: string; stockSwingSalesCents: number; exempt: boolean; pools: TaxPool[]; taxCents: number;
  irrfDeductedCents: number; darfCents: number; darfCode: string; dueDate: string;
}
