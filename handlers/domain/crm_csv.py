"""Reading a CRM's CSV export into plain deal rows: which column is which, and what each cell means.

Recognised without any mapping (headers compared case- and punctuation-blind):
- HubSpot's deal export: Record ID, Deal Name, Deal Stage, Amount, Close Date, Deal owner, Pipeline, ...
- Salesforce's opportunity report (Opportunity ID, Opportunity Name, Account Name, Stage, Amount,
  Close Date, Opportunity Owner, ...) and its Data Loader export (Id, Name, StageName, Amount, CloseDate,
  CurrencyIsoCode, ...).
- Pipedrive's deal export: "Deal - ID", "Deal - Title", "Deal - Organization", "Deal - Value",
  "Deal - Currency", "Deal - Stage", "Deal - Status", "Deal - Expected close date", "Deal - Owner", ...
- Any other CSV whose header names the deal or company, and optionally amount, stage, close date and
  owner email (see ALIASES).

Owner cells are searched for an email address ("Dana Scully (dana@acme.com)" works); an owner given only
by name is never guessed onto a rep. Slack-free and database-free.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from handlers.domain.amounts import AmountError, currency_code, parse_amount

MAX_BYTES = 20 * 1024 * 1024

# canonical field -> header spellings (normalised: lower case, letters and digits only)
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("recordid", "dealid", "opportunityid", "id", "dealrecordid"),
    "deal": ("dealname", "dealtitle", "title", "opportunityname", "opportunity", "name", "deal"),
    "company": ("company", "companyname", "accountname", "account", "organization", "organisation",
                "dealorganization", "associatedcompany", "org", "organizationname"),
    "amount": ("amount", "value", "dealvalue", "dealamount", "opportunityamount", "amountindealcurrency"),
    "currency": ("currency", "dealcurrency", "currencyisocode", "amountcurrency", "dealcurrencycode",
                 "opportunitycurrency"),
    "stage": ("dealstage", "stage", "stagename", "opportunitystage", "pipelinestage"),
    "status": ("dealstatus", "status", "iswon"),
    "close_date": ("closedate", "expectedclosedate", "dealexpectedclosedate", "closingdate", "dealclosedate"),
    "owner": ("owneremail", "dealowneremail", "opportunityowneremail", "dealowner", "opportunityowner",
              "owner", "ownername", "assignedto", "email"),
    "lost_reason": ("closedlostreason", "lostreason", "deallostreason"),
}
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
WON_WORDS = ("closedwon", "won", "true")
LOST_WORDS = ("closedlost", "lost")


class CsvFileError(ValueError):
    """The file as a whole can't be read: one line saying why (nothing is imported)."""


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line in the file, header = 1
    company: str
    external_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    stage: str | None = None
    status: str = "open"  # open | won | no
    close_date: date | None = None
    owner_email: str | None = None
    owner_label: str = ""  # what the owner cell said, for skip reasons
    lost_reason: str | None = None


@dataclass(frozen=True)
class Skip:
    line: int
    reason: str


@dataclass
class Parsed:
    source: str  # hubspot | salesforce | pipedrive | csv
    columns: dict[str, str]  # canonical field -> header as written
    rows: list[Row] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


def norm(header: str) -> str:
    h = header.strip().lower()
    h = h.removeprefix("deal - ")  # Pipedrive: "Deal - Title", "Deal - Value", ...
    return re.sub(r"[^a-z0-9]", "", h)


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise CsvFileError(f"the file is larger than {MAX_BYTES // 1024 // 1024} MB")
    if b"\0" in data[:4096]:
        raise CsvFileError("this is not a CSV file (it looks binary); export your deals as CSV")
    for enc in ("utf-8-sig", "cp1252"):  # Salesforce and Excel often write Windows-1252
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise CsvFileError("the file is neither UTF-8 nor Windows-1252 text")  # pragma: no cover - cp1252 rarely fails


def detect_source(headers: list[str]) -> str:
    raw = [h.strip().lower() for h in headers]
    keys = {norm(h) for h in headers}
    if any(h.startswith("deal - ") for h in raw):
        return "pipedrive"
    if "recordid" in keys and ("dealname" in keys or "dealstage" in keys):
        return "hubspot"
    if keys & {"opportunityname", "opportunityid", "stagename", "opportunityowner"}:
        return "salesforce"
    return "csv"


def map_columns(headers: list[str]) -> dict[str, str]:
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(norm(h), h)
    cols: dict[str, str] = {}
    for fld, names in ALIASES.items():
        for n in names:
            if n in by_norm and by_norm[n] not in cols.values():
                cols[fld] = by_norm[n]
                break
    return cols


def parse_csv(data: bytes | str) -> Parsed:
    """Every row that can be read, and a reason for each that can't. CsvFileError if none can be."""
    text = decode(data) if isinstance(data, bytes) else data
    if not text.strip():
        raise CsvFileError("the file is empty")
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as e:
        raise CsvFileError(f"the file has no header row ({e})") from None
    cols = map_columns(headers)
    if "deal" not in cols and "company" not in cols:
        raise CsvFileError("no header names the deal or company (expected a column like “Deal Name”, "
                           "“Opportunity Name”, “Company” or “Deal - Title”); is the first row the header?")
    parsed = Parsed(detect_source(headers), cols)
    index = {fld: headers.index(h) for fld, h in cols.items()}
    try:
        for lineno, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            got = {fld: (cells[i].strip() if i < len(cells) else "") for fld, i in index.items()}
            row_or_skip = read_row(lineno, got)
            (parsed.rows if isinstance(row_or_skip, Row) else parsed.skipped).append(row_or_skip)  # type: ignore[arg-type]
    except csv.Error as e:
        parsed.skipped.append(Skip(reader.line_num, f"unreadable CSV from here on ({e})"))
    return parsed


def read_row(line: int, got: dict[str, str]) -> Row | Skip:
    company = got.get("company") or got.get("deal") or ""
    if not company:
        return Skip(line, "no deal or company name")
    amount = currency = None
    currency = currency_code(got["currency"]) if got.get("currency") else None
    if got.get("amount"):
        try:
            a = parse_amount(got["amount"] if not currency else f"{got['amount']} {currency}")
        except AmountError:
            try:
                a = parse_amount(got["amount"])
            except AmountError:
                return Skip(line, f"unreadable amount “{got['amount']}”")
        amount, currency = a.value, a.currency or currency
    close = None
    if got.get("close_date"):
        close = parse_date(got["close_date"])
        if close is None:
            return Skip(line, f"unreadable close date “{got['close_date']}”")
    owner = got.get("owner", "")
    m = EMAIL.search(owner)
    return Row(line=line, company=company[:500], external_id=got.get("id") or None, amount=amount,
               currency=currency, stage=(got.get("stage") or None), status=outcome(got),
               close_date=close, owner_email=m.group(0).lower() if m else None, owner_label=owner,
               lost_reason=got.get("lost_reason") or None)


def outcome(got: dict[str, str]) -> str:
    """won / no / open from the status column when there is one, else from the stage's name."""
    for value in (got.get("status", ""), got.get("stage", "")):
        v = re.sub(r"[^a-z]", "", value.lower())
        if v in WON_WORDS:
            return "won"
        if v in LOST_WORDS:
            return "no"
    return "open"


_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y",
                 "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d")


def parse_date(text: str) -> date | None:
    t = text.strip().rstrip("Z")
    try:
        return datetime.fromisoformat(t).date()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    return None
