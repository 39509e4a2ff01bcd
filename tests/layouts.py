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


def write_schwab_all(folder: Path) -> Path:
    """Schwab's "All-Accounts" positions export: under one title line, a block per
    account (the account on a line of its own, the header again, its positions,
    cash and Account Total). The same AAPL line, cell for cell, is in both accounts."""
    header = ",".join(f'"{c}"' for c in _SCHWAB_HEADER) + ","
    lines = [
        '"Positions for All-Accounts as of 04:10 PM ET, 03/14/2025"',
        "",
        '"Individual ...678"',
        header,
        _schwab_line("SCHB", "SCHWAB US BROAD MARKET ETF", "100", "$22.50", "$2,250.00",
                     "ETFs & Closed End Funds"),
        _schwab_line("AAPL", "APPLE INC", "12", "$210.25", "$2,523.00", "Equity"),
        _schwab_line("Cash & Cash Investments", "--", "--", "--", "$1,003.40",
                     "Cash and Money Market"),
        _schwab_line("Account Total", "--", "--", "--", "$5,776.40", "--"),
        "",
        '"Roth Contributory IRA ...912"',
        header,
        _schwab_line("AAPL", "APPLE INC", "12", "$210.25", "$2,523.00", "Equity"),
        _schwab_line("SCHB", "SCHWAB US BROAD MARKET ETF", "40", "$22.50", "$900.00",
                     "ETFs & Closed End Funds"),
        _schwab_line("Cash & Cash Investments", "--", "--", "--", "$50.00",
                     "Cash and Money Market"),
        _schwab_line("Account Total", "--", "--", "--", "$3,473.00", "--"),
    ]
    return _write(folder, "All-Accounts-Positions-2025-03-14.CSV", "\n".join(lines) + "\n")


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


def write_etrade(folder: Path) -> Path:
    """E*TRADE's portfolio download, All Positions with the lots expanded: each
    lot is an indented line dated where the symbol goes, under its position."""
    lines = [
        "Account Summary",
        "Account,Net Account Value,Total Gain $,Total Gain %,Day's Gain Unrealized $,"
        "Day's Gain Unrealized %,Available For Withdrawal,Cash Purchasing Power",
        "Individual Brokerage -4321,7140.00,1150.00,19.20,5.00,0.07,1340.00,1340.00",
        "",
        "View Summary - All Positions",
        "Filters Selected:",
        "",
        "Symbol,Last Price $,Change $,Change %,Day's Gain $,Qty #,Price Paid $,Total Gain $,"
        "Total Gain %,Value $",
        "AAPL,200.00,1.00,0.50,20.00,20,150.00,1000.00,33.33,4000.00",
        "   09/15/2022,200.00,1.00,0.50,10.00,10,140.00,600.00,42.86,2000.00",
        "   01/10/2023,200.00,1.00,0.50,10.00,10,160.00,400.00,25.00,2000.00",
        "KO,60.00,-0.50,-0.83,-15.00,30,55.00,150.00,9.09,1800.00",
        "   03/01/2021,60.00,-0.50,-0.83,-15.00,30,55.00,150.00,9.09,1800.00",
        "CASH,,,,,,,,,1340.00",
        "TOTAL,,,,5.00,,,1150.00,,7140.00",
        "",
        '"Generated at Mar 14 2025 04:00 PM ET"',
    ]
    return _write(folder, "PortfolioDownload.csv", "\n".join(lines) + "\n")


def write_ibkr_flex(folder: Path) -> Path:
    """An Interactive Brokers Flex Query of Open Positions as CSV: one header row
    of Flex field names, every cell quoted, SUMMARY rows with their LOT rows."""
    header = ("ClientAccountID", "CurrencyPrimary", "AssetClass", "Symbol", "Description",
              "ISIN", "ReportDate", "Quantity", "MarkPrice", "PositionValue",
              "CostBasisPrice", "FifoPnlUnrealized", "LevelOfDetail")
    rows = (
        ("U7654321", "USD", "STK", "IBM", "INTL BUSINESS MACHINES CORP", "US4592001014",
         "20250630", "5", "250", "1250", "200", "250", "SUMMARY"),
        ("U7654321", "USD", "STK", "IBM", "INTL BUSINESS MACHINES CORP", "US4592001014",
         "20250630", "3", "250", "750", "190", "180", "LOT"),
        ("U7654321", "USD", "STK", "IBM", "INTL BUSINESS MACHINES CORP", "US4592001014",
         "20250630", "2", "250", "500", "215", "70", "LOT"),
        ("U7654321", "EUR", "STK", "SAP", "SAP SE", "DE0007164600", "20250630", "4", "230",
         "920", "180", "200", "SUMMARY"),
    )
    lines = [",".join(f'"{c}"' for c in row) for row in (header, *rows)]
    return _write(folder, "OpenPositions_U7654321.csv", "\r\n".join(lines) + "\r\n")


def write_vanguard(folder: Path) -> Path:
    """Vanguard's holdings download: a holdings table per account (the header
    again above each), blank lines, then a transactions table."""
    header = "Account Number,Investment Name,Symbol,Shares,Share Price,Total Value,"
    lines = [
        header,
        "11112222,VANGUARD 500 INDEX ADMIRAL,VFIAX,10.5,500.00,5250.00,",
        "11112222,VANGUARD FEDERAL MONEY MARKET FUND,VMFXX,300.25,1.00,300.25,",
        "", "", "",
        header,
        "33334444,VANGUARD TOTAL BOND MARKET INDEX ADMIRAL,VBTLX,100,9.80,980.00,",
        "", "", "",
        "Account Number,Trade Date,Settlement Date,Transaction Type,Transaction Description,"
        "Investment Name,Symbol,Shares,Share Price,Principal Amount,Commissions and Fees,"
        "Net Amount,Accrued Interest,Account Type,",
        "11112222,2025-03-03,2025-03-04,Buy,Buy,VANGUARD 500 INDEX ADMIRAL,VFIAX,1.5,480.00,"
        "-720.00,0.0,-720.00,0.0,CASH,",
    ]
    return _write(folder, "ofxdownload.csv", "\n".join(lines) + "\n")


def write_brvm(folder: Path) -> Path:
    """A BRVM broker's (SGI) portfolio statement in French: title lines with the
    « Date d'arrêté », ``;`` between cells, a decimal comma and spaces between
    thousands, amounts in FCFA, subtotals, a cash balance and a grand total;
    written in Windows-1252, as such statements often are."""
    lines = [
        "SGI EXEMPLE - RELEVE DE PORTEFEUILLE",
        "Client : 0045678 - MUTUELLE EXEMPLE",
        "Date d'arrêté : 31/10/2025",
        "",
        "Code valeur;Libellé valeur;Catégorie;Quantité;Cours de clôture;Valorisation;Devise",
        "SNTS;SONATEL SENEGAL;Actions;120;25 500;3 060 000;FCFA",
        "ORAC;ORANGE COTE D'IVOIRE;Actions;200;14 750;2 950 000;FCFA",
        "Sous-total Actions;;;;;6 010 000;FCFA",
        "EOT.O1;ETAT DU TOGO 6,5% 2028;Obligations;1 000;9 950,50;9 950 500;FCFA",
        "Sous-total Obligations;;;;;9 950 500;FCFA",
        "Solde espèces;;;;;1 234 567,89;FCFA",
        "Total portefeuille;;;;;17 195 067,89;FCFA",
        "Document généré le 03/11/2025 à 08:15",
    ]
    return _write(folder, "releve_portefeuille_sgi.csv", "\r\n".join(lines) + "\r\n", "cp1252")


def write_cemac_custody(folder: Path) -> Path:
    """A CEMAC bank's custody statement XLSX: title rows (bank, date, securities
    account), French headers, bonds as nominal with a price per 100 and the
    accrued coupon apart, FCFA beside Cameroon and Gabon ISINs, a Total row."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Relevé titres"
    sheet.append(["BANQUE EXEMPLE CAMEROUN - SERVICE TITRES"])
    sheet.append(["Relevé des avoirs en conservation au 30/09/2025"])
    sheet.append(["Compte titres n° 0123456789 - CAISSE EXEMPLE DE RETRAITE"])
    sheet.append([])
    sheet.append(["Code ISIN", "Désignation", "Nature", "Quantité", "Cours",
                  "Valeur de marché", "Coupon couru", "Devise", "Échéance"])
    sheet.append(["CM0000000018", "ETAT DU CAMEROUN 6,25% 2029", "Obligation", 10_000_000,
                  101.5, 10_150_000, 250_000, "FCFA", datetime(2029, 6, 15)])
    sheet.append(["GA0000000018", "ETAT DU GABON 6,5% 2028", "Obligation", 5_000_000, 99.0,
                  4_950_000, 80_000, "FCFA", datetime(2028, 3, 31)])
    sheet.append(["CM0000000026", "SOCIETE EXEMPLE SA", "Action", 1_000, 45_000,
                  45_000_000, None, "FCFA", None])
    sheet.append(["Total", None, None, None, None, 60_100_000, 330_000, "FCFA", None])
    path = Path(folder) / "releve_conservation_2025-09.xlsx"
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
    "etrade": write_etrade,
    "ibkr-flex": write_ibkr_flex,
    "vanguard": write_vanguard,
    "brvm-sgi": write_brvm,
    "cemac-custody": write_cemac_custody,
}


def write_all(folder: Path) -> dict[str, Path]:
    """Every layout, by the name of the preset that reads it."""
    return {name: write(Path(folder)) for name, write in WRITERS.items()}


if __name__ == "__main__":
    for preset, path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else ".")).items():
        print(f"{preset}: {path}")
