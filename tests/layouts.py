"""Files in the layouts real brokers and custodians export, with folio's own values.

Each ``write_*`` function writes one file into a folder and returns its path.
The layouts (header cells, title and section lines, cash, subtotal and footer
lines, number and date conventions) are those of the exports the presets are
for; every value is made up here, so tests can state by hand what an import of
each file must store (see ``tests/test_layouts.py``). The notebooks write the
same files with this module.

Run ``python tests/layouts.py FOLDER`` to write them all.
"""

from __future__ import annotations

import sys
from datetime import datetime, time
from pathlib import Path


def _write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


# DEGIRO "Portfolio" export: the currency code sits under the local-value header
# and the amount in the unnamed next column; amounts are quoted with a decimal
# comma; cash funds are lines with no identifier and no quantity.
_DEGIRO_HEADERS = {
    "nl": "Product,Symbool/ISIN,Aantal,Slotkoers,Lokale waarde,,Waarde in EUR",
    "en": "Product,Symbol/ISIN,Amount,Closing,Local value,,Value in CHF",
    "fr": "Produit,Symbole/ISIN,Quantité,Clôture,Valeur locale,,Valeur en EUR",
    "de": "Produkt,Symbol/ISIN,Anzahl,Schlusskurs,Lokaler Wert,,Wert in EUR",
    "es": "Producto,Símbolo/ISIN,Cantidad,Precio de cierre,Valor local,,Valor en EUR",
}
_DEGIRO_ROWS = {
    "nl": [
        'CASH & CASH FUND & FTX CASH (EUR),,,,EUR,"1250,50","1250,50"',
        'CASH & CASH FUND & FTX CASH (USD),,,,USD,"80,00","70,00"',
        'ASML HOLDING,NL0010273215,10,"650,20",EUR,"6502,00","6502,00"',
        'APPLE INC,US0378331005,20,"190,50",USD,"3810,00","3333,75"',
        'SHELL PLC,GB00BP6MXD84,100,"30,10",EUR,"3010,00","3010,00"',
    ],
    "en": [
        'CASH & CASH FUND & FTX CASH (CHF),,,,CHF,"415,25","415,25"',
        'NESTLE SA,CH0038863350,30,"88,40",CHF,"2652,00","2652,00"',
        'MICROSOFT CORP,US5949181045,4,"410,00",USD,"1640,00","1443,20"',
        'ISHARES CORE MSCI WORLD,IE00B4L5Y983,50,"95,10",EUR,"4755,00","4469,70"',
    ],
    # The French export writes the closing price with a point and the values
    # with a comma: each column keeps its own mark.
    "fr": [
        'CASH & CASH FUND & FTX CASH (EUR),,,,EUR,"99,90","99,90"',
        'TOTALENERGIES SE,FR0000120271,40,60.50,EUR,"2420,00","2420,00"',
        'AIR LIQUIDE,FR0000120073,12,180.25,EUR,"2163,00","2163,00"',
    ],
    "de": [
        'CASH & CASH FUND & FTX CASH (EUR),,,,EUR,"500,00","500,00"',
        'SAP SE,DE0007164600,15,"240,00",EUR,"3600,00","3600,00"',
        'SIEMENS AG,DE0007236101,8,"210,50",EUR,"1684,00","1684,00"',
    ],
    "es": [
        'CASH & CASH FUND & FTX CASH (EUR),,,,EUR,"75,50","75,50"',
        'IBERDROLA SA,ES0144580Y14,200,"13,20",EUR,"2640,00","2640,00"',
        'INDITEX,ES0148396007,25,"50,00",EUR,"1250,00","1250,00"',
        'COCA-COLA CO,US1912161007,10,"70,00",USD,"700,00","651,00"',
    ],
}


def write_degiro(folder: Path, language: str) -> Path:
    """DEGIRO's Portfolio.csv in one of its languages (nl, en, fr, de, es)."""
    lines = [_DEGIRO_HEADERS[language], *_DEGIRO_ROWS[language]]
    return _write(folder, f"degiro_{language}/Portfolio.csv", "\n".join(lines) + "\n")


_SCHWAB_HEADER = ("Symbol", "Description", "Quantity", "Price", "Price Change $",
                  "Price Change %", "Market Value", "Day Change $", "Day Change %",
                  "Cost Basis", "Gain/Loss $", "Gain/Loss %", "Reinvest Dividends?",
                  "Capital Gains?", "% Of Account", "Dividend Yield", "Last Dividend",
                  "Ex-Dividend Date", "P/E Ratio", "52 Week Low", "52 Week High", "Volume",
                  "Intrinsic Value", "In The Money", "Security Type")


def _schwab_line(symbol, description, quantity, price, value, security_type):
    cells = [symbol, description, quantity, price, "-$0.12", "-0.10%", value, "-$1.20",
             "-0.10%", "--", "--", "+2.68%", "No", "--", "10.00%", "--", "--", "--", "--",
             "--", "--", "--", "--", "--", security_type]
    return ",".join(f'"{c}"' for c in cells) + ","


def write_schwab(folder: Path, total: str = "$5,776.40") -> Path:
    """Schwab's positions export of one account: a title line with the date and time,
    ``$`` amounts, ``--`` for nothing, a cash line and an Account Total line; USD."""
    lines = [
        '"Positions for account Individual XXXX-5678 as of 04:10 PM ET, 03/14/2025"',
        "",
        ",".join(f'"{c}"' for c in _SCHWAB_HEADER) + ",",
        _schwab_line("SCHB", "SCHWAB US BROAD MARKET ETF", "100", "$22.50", "$2,250.00",
                     "ETFs & Closed End Funds"),
        _schwab_line("AAPL", "APPLE INC", "12", "$210.25", "$2,523.00", "Equity"),
        _schwab_line("Cash & Cash Investments", "--", "--", "--", "$1,003.40", "Cash and Money Market"),
        _schwab_line("Account Total", "--", "--", "--", total, "--"),
    ]
    return _write(folder, "Individual-Positions-2025-03-14.CSV", "\n".join(lines) + "\n")


def write_fidelity(folder: Path) -> Path:
    """Fidelity's monthly statement CSV: an account summary table, then the
    holdings table with account-number and section title lines and subtotals;
    USD; the date only in the file name (StatementMMDDYYYY.csv)."""
    lines = [
        "Account Type,Account,Beginning mkt Value,Change in Investment,Ending mkt Value,"
        "Short Balance,Ending Net Value,Dividends This Period,Dividends Year to Date,"
        "Interest This Year,Interest Year to Date,Total This Period,Total Year to Date",
        "Individual,Z98765432,9000.00,275.50,9275.50,,9275.50,12.00,12.00,0.40,0.40,12.40,12.40",
        " ",
        "",
        "Symbol/CUSIP,Description,Quantity,Price,Beginning Value,Ending Value,Cost Basis",
        " ",
        "",
        "Z98765432",
        "Stocks ",
        "",
        "VTI,VANGUARD TOTAL STOCK MARKET ETF ,20.0000,250.00000,4900.00,5000.00,4800.00",
        "MSFT,MICROSOFT CORP ,10.0000,400.00000,3900.00,4000.00,3500.00",
        "Subtotal of Stocks,,,,,9000.00,8300.00,,,,",
        "",
        "Z98765432",
        "Core Account ",
        "SPAXX,FIDELITY GOVERNMENT MONEY MARKET q,275.50000,1.00000,200.00,275.50,not applicable",
        "Subtotal of Core Account,,,,,275.50,,,,,",
    ]
    return _write(folder, "Statement03312025.csv", "\n".join(lines))


def write_ibkr_activity(folder: Path) -> Path:
    """An Interactive Brokers Activity Statement: sections in
    ``Section,Header|Data|Total,...`` form; the holdings are Open Positions."""
    lines = [
        "Statement,Header,Field Name,Field Value",
        "Statement,Data,BrokerName,Interactive Brokers LLC",
        "Statement,Data,Title,Activity Statement",
        'Statement,Data,Period,"January 1, 2025 - June 30, 2025"',
        'Statement,Data,WhenGenerated,"2025-07-01, 09:00:00 EDT"',
        "Account Information,Header,Field Name,Field Value",
        "Account Information,Data,Name,Sample Owner",
        "Account Information,Data,Account,U7654321",
        "Account Information,Data,Base Currency,USD",
        "Cash Report,Header,Currency Summary,Currency,Total,Securities,Futures,",
        "Cash Report,Data,Starting Cash,Base Currency Summary,1000.00,1000.00,0,",
        "Cash Report,Data,Ending Cash,Base Currency Summary,640.00,640.00,0,",
        "Open Positions,Header,DataDiscriminator,Asset Category,Currency,Symbol,Quantity,Mult,"
        "Cost Price,Cost Basis,Close Price,Value,Unrealized P/L,Code",
        "Open Positions,Data,Summary,Stocks,USD,IBM,5,1,200.00,1000.00,250.00,1250.00,250.00,",
        "Open Positions,Data,Summary,Stocks,USD,KO,30,1,60.00,1800.00,62.50,1875.00,75.00,",
        "Open Positions,Total,,Stocks,USD,,,,,2800.00,,3125.00,325.00,",
        "Open Positions,Data,Summary,Stocks,EUR,SAP,4,1,180.00,720.00,230.00,920.00,200.00,",
        "Open Positions,Total,,Stocks,EUR,,,,,720.00,,920.00,200.00,",
        "Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Date/Time,Quantity,"
        "T. Price,C. Price,Proceeds,Comm/Fee,Basis,Realized P/L,MTM P/L,Code",
        'Trades,Data,Order,Stocks,USD,KO,"2025-02-03, 10:30:00",30,60.00,60.10,-1800.00,-1.00,'
        "1801.00,0.00,3.00,O",
        "Trades,SubTotal,,Stocks,USD,KO,,30,,,-1800.00,-1.00,1801.00,0.00,3.00,",
        "Notes/Legal Notes,Header,Type,Note",
        'Notes/Legal Notes,Data,Notes,"Trades settle on the trade date plus one business day."',
    ]
    return _write(folder, "U7654321_2025H1.csv", "\n".join(lines) + "\n")


PRIME_BROKER_HEADER = (
    "Account ID", "Account Name", "Long/Short Indicator", "Cusip", "Quick Code", "Sedol", "Isin",
    "Symbol", "Security Name", "Security Issue CCY", "Base CCY", "US Margin Ind", "TD Quantity",
    "SD Quantity", "Price", "TD Market Value Local", "SD Market Value Local",
    "TD Market Value Base", "SD Market Value Base", "FX Rate", "Last Activity Date",
    "Business Date", "Run Date", "Run Time", "OTC DerivativeType", "Ticker", "Ric Code",
    "Preferred ID", "Pricing Factor", "Price Type", "Product Type", "Expiration Date",
    "Option Contract Type", "Td Accrued Interest", "Sd Accrued Interest", "Clean Price",
    "Asset Class")

# (isin, name, ccy, nominal, clean price per 100, accrued): the dirty price and
# market value below are worked from these (value = nominal x clean / 100 + accrued).
PRIME_BROKER_BONDS = (
    ("XS0000000017", "SAMPLE ISSUER A 5% 2030", "USD", 1_000_000, 99.5, 12_500.00),
    ("XS0000000025", "SAMPLE ISSUER B 4.25% 2028", "USD", 2_000_000, 101.25, 8_000.00),
    ("XS0000000033", "SAMPLE ISSUER C 3% 2031", "EUR", 500_000, 97.0, 1_250.00),
)


def write_prime_broker_bonds(folder: Path, record_count: int | None = None) -> Path:
    """A prime broker's bond positions XLSX: a title row with the report date,
    37 columns, a dirty price and market value beside the clean price and the
    accrued interest, and a ``Record Count : N`` row."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "ACC001_SUB_2025-09-30"
    sheet.append([datetime(2025, 9, 30), time(23, 5, 0), "Sample Prime Services - PB Positions "
                  "(Long/Short) Report"])
    sheet.append(list(PRIME_BROKER_HEADER))
    for isin, name, ccy, nominal, clean, accrued in PRIME_BROKER_BONDS:
        value = round(nominal * clean / 100 + accrued, 2)
        dirty = round(value / nominal * 100, 6)
        row = dict.fromkeys(PRIME_BROKER_HEADER)
        row.update({
            "Account ID": "ACC001", "Account Name": "SAMPLE FUND 1", "Long/Short Indicator": "LONG",
            "Isin": isin, "Security Name": name, "Security Issue CCY": ccy, "Base CCY": "USD",
            "TD Quantity": nominal, "SD Quantity": nominal, "Price": dirty,
            "TD Market Value Local": value, "SD Market Value Local": value,
            "TD Market Value Base": value, "SD Market Value Base": value, "FX Rate": 1,
            "Business Date": 20250930, "Run Date": 20250930, "Run Time": 230500,
            "Pricing Factor": 0, "Price Type": "PC", "Product Type": "FIXED INCOME",
            "Td Accrued Interest": accrued, "Sd Accrued Interest": accrued, "Clean Price": clean,
            "Asset Class": "K1"})
        sheet.append(list(row.values()))
    count = len(PRIME_BROKER_BONDS) if record_count is None else record_count
    sheet.append([f"Record Count : {count}"])
    path = Path(folder) / "PB_Positions_30092025.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


WRITERS = {
    "degiro-nl": lambda folder: write_degiro(folder, "nl"),
    "degiro-en": lambda folder: write_degiro(folder, "en"),
    "degiro-fr": lambda folder: write_degiro(folder, "fr"),
    "degiro-de": lambda folder: write_degiro(folder, "de"),
    "degiro-es": lambda folder: write_degiro(folder, "es"),
    "schwab": write_schwab,
    "fidelity": write_fidelity,
    "ibkr-activity": write_ibkr_activity,
    "prime-broker-bonds": write_prime_broker_bonds,
}


def write_all(folder: Path) -> dict[str, Path]:
    """Every layout, by the name of the preset that reads it."""
    return {name: write(Path(folder)) for name, write in WRITERS.items()}


if __name__ == "__main__":
    for preset, path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else ".")).items():
        print(f"{preset}: {path}")
