"""A realistic starting catalog: liquid B3 instruments of every kind (ISINs pass their check digit)."""

from __future__ import annotations

from mybroker.assets.catalog import Instrument, InstrumentKind

K = InstrumentKind
SEED: tuple[Instrument, ...] = tuple(
    Instrument(ticker=t, name=n, isin=i, kind=k)
    for t, n, i, k in (
        ("PETR4", "Petrobras PN", "BRPETRACNPR6", K.SHARE_PN),
        ("PETR3", "Petrobras ON", "BRPETRACNOR9", K.SHARE_ON),
        ("VALE3", "Vale ON", "BRVALEACNOR0", K.SHARE_ON),
        ("ITUB4", "Itaú Unibanco PN", "BRITUBACNPR1", K.SHARE_PN),
        ("BBDC4", "Bradesco PN", "BRBBDCACNPR8", K.SHARE_PN),
        ("BBAS3", "Banco do Brasil ON", "BRBBASACNOR3", K.SHARE_ON),
        ("ABEV3", "Ambev ON", "BRABEVACNOR1", K.SHARE_ON),
        ("WEGE3", "WEG ON", "BRWEGEACNOR0", K.SHARE_ON),
        ("B3SA3", "B3 ON", "BRB3SAACNOR6", K.SHARE_ON),
        ("MGLU3", "Magazine Luiza ON", "BRMGLUACNOR2", K.SHARE_ON),
        ("ITSA4", "Itaúsa PN", "BRITSAACNPR7", K.SHARE_PN),
        ("SUZB3", "Suzano ON", "BRSUZBACNOR0", K.SHARE_ON),
        ("PRIO3", "PRIO ON", "BRPRIOACNOR1", K.SHARE_ON),
        ("RENT3", "Localiza ON", "BRRENTACNOR4", K.SHARE_ON),
        ("ELET3", "Eletrobras ON", "BRELETACNOR6", K.SHARE_ON),
        ("TAEE11", "Taesa UNT", "BRTAEECDAM10", K.UNIT),
        ("BOVA11", "iShares Ibovespa ETF", "BRBOVACTF003", K.ETF),
        ("IVVB11", "iShares S&P 500 ETF", "BRIVVBCTF001", K.ETF),
        ("HGLG11", "CSHG Logística FII", "BRHGLGCTF004", K.FII),
        ("KNRI11", "Kinea Renda Imobiliária FII", "BRKNRICTF007", K.FII),
        ("AAPL34", "Apple BDR", "BRAAPLBDR004", K.BDR),
        ("MSFT34", "Microsoft BDR", "BRMSFTBDR005", K.BDR),
    )
)
