"""Hand-made customers planted into a simulated world's source systems, with the results a person can
check by hand. They go in through the same files and databases as everything else (sources.yaml), so
the whole pipeline (extraction, identity, marts) has to get them right.

- ENGAGEMENT_CUSTOMER (last name `Engagementtest`): a CRM customer with a webshop account whose only
  touchpoints are a newsletter sign-up (on the web form and, the same minute, in the email platform:
  one sign-up), a webinar registration and an appointment booking: 5 + 10 + 100 = 115 points.
- ROBO_CUSTOMER (last name `Robotest`): views two products of one line on the web while logged in,
  then buys that line in a store with his loyalty card four days later: a research-online-buy-offline
  journey, his only store purchase in the line.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PlantedCustomer:
    crm_customer_id: str
    account_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    birth_date: str
    street: str
    house_number: str
    postcode: str
    city: str
    member_id: str | None = None
    card_number: str | None = None


ENGAGEMENT_CUSTOMER = PlantedCustomer(
    crm_customer_id="C9900001",
    account_id="A9900001",
    first_name="Eva",
    last_name="Engagementtest",
    email="eva.engagementtest@gmail.com",
    phone="0612990001",
    birth_date="1985-03-14",
    street="Proefstraat",
    house_number="1",
    postcode="9991 AA",
    city="Proefdorp",
)
ENGAGEMENT_POINTS = 5 + 10 + 100

ROBO_CUSTOMER = PlantedCustomer(
    crm_customer_id="C9900002",
    account_id="A9900002",
    first_name="Rob",
    last_name="Robotest",
    email="rob.robotest@gmail.com",
    phone="0612990002",
    birth_date="1979-11-02",
    street="Proefstraat",
    house_number="2",
    postcode="9991 AB",
    city="Proefdorp",
    member_id="M9900002",
    card_number="2699000000002",
)
ROBO_PRODUCT_LINE = "sports"

_WEB_EVENT_COLUMNS = (
    "event_id", "event_ts", "cookie_id", "account_id", "session_id", "event_type", "page_url",
    "content_id", "product_line", "search_term", "utm_source", "utm_medium", "utm_campaign",
    "promo_code", "device_type",
)  # fmt: skip


def _insert(database: Path, table: str, row: dict[str, object]) -> None:
    with sqlite3.connect(database) as conn:
        columns = ", ".join(row)
        conn.execute(
            f"insert into {table} ({columns}) values ({', '.join('?' * len(row))})", list(row.values())
        )


def _register(sources: Path, person: PlantedCustomer, at: str) -> None:
    """The person's CRM record and webshop account (and loyalty member + card when they have one)."""
    _insert(
        sources / "crm.sqlite",
        "customers",
        {
            "customer_id": person.crm_customer_id, "first_name": person.first_name, "infix": None,
            "last_name": person.last_name, "gender": "x", "birth_date": person.birth_date,
            "email": person.email, "phone": person.phone, "street": person.street,
            "house_number": person.house_number, "postcode": person.postcode, "city": person.city,
            "consent_email": 1, "consent_sms": 0, "consent_phone": 0, "consent_post": 1,
            "consent_social": 0, "consent_updated_at": at, "social_handle": None,
            "created_at": at, "updated_at": at,
        },
    )  # fmt: skip
    _insert(
        sources / "webshop.sqlite",
        "accounts",
        {
            "account_id": person.account_id, "crm_customer_id": person.crm_customer_id,
            "email": person.email, "first_name": person.first_name, "last_name": person.last_name,
            "phone": person.phone, "birth_date": person.birth_date, "street": person.street,
            "house_number": person.house_number, "postcode": person.postcode, "city": person.city,
            "newsletter_opt_in": 1, "created_at": at, "updated_at": at,
        },
    )  # fmt: skip
    if person.member_id:
        _insert(
            sources / "loyalty.sqlite",
            "members",
            {
                "member_id": person.member_id, "first_name": person.first_name,
                "last_name": person.last_name, "email": person.email, "phone": person.phone,
                "birth_date": person.birth_date, "postcode": person.postcode,
                "house_number": person.house_number, "tier": "basic", "enrolled_at": at, "updated_at": at,
            },
        )  # fmt: skip
        _insert(
            sources / "loyalty.sqlite",
            "cards",
            {
                "card_number": person.card_number, "member_id": person.member_id, "status": "active",
                "issued_at": at, "updated_at": at,
            },
        )  # fmt: skip


def _web_event(event_id: str, at: str, person: PlantedCustomer, event_type: str, **fields: object) -> dict:
    event = dict.fromkeys(_WEB_EVENT_COLUMNS)
    event.update(
        event_id=event_id,
        event_ts=at,
        cookie_id=f"ck-{event_id.split('-')[1]}",
        account_id=person.account_id,
        session_id=f"ss-{event_id.split('-')[1]}",
        event_type=event_type,
        page_url="https://www.klantbeeld.nl/",
        device_type="desktop",
    )
    event.update(fields)
    return event


def _write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), quoting=csv.QUOTE_NONNUMERIC)
        writer.writeheader()
        writer.writerows(rows)


def plant_customers(data_dir: Path) -> None:
    """Add ENGAGEMENT_CUSTOMER and ROBO_CUSTOMER to the world's sources (before the first run)."""
    sources = data_dir / "sources"
    _register(sources, ENGAGEMENT_CUSTOMER, "2026-06-01 09:00:00")
    _register(sources, ROBO_CUSTOMER, "2026-06-01 09:00:00")
    with sqlite3.connect(sources / "webshop.sqlite") as conn:
        products = conn.execute(
            "select product_id, unit_price from products where product_line = ? order by product_id limit 2",
            [ROBO_PRODUCT_LINE],
        ).fetchall()

    events = [
        _web_event("ev-planted1-1", "2026-06-20T10:00:00.000Z", ENGAGEMENT_CUSTOMER, "newsletter_signup"),
        _web_event("ev-planted1-2", "2026-06-20T10:05:00.000Z", ENGAGEMENT_CUSTOMER, "webinar_registration"),
        _web_event("ev-planted1-3", "2026-06-22T09:00:00.000Z", ENGAGEMENT_CUSTOMER, "appointment_booked"),
    ] + [
        _web_event(
            f"ev-planted2-{n}", f"2026-06-10T19:0{n}:00.000Z", ROBO_CUSTOMER, "product_view",
            page_url=f"https://www.klantbeeld.nl/p/{product_id}", content_id=product_id,
            product_line=ROBO_PRODUCT_LINE,
        )
        for n, (product_id, _) in enumerate(products, start=1)
    ]  # fmt: skip
    (sources / "web" / "events" / "events_planted.jsonl").write_text(
        "".join(json.dumps(event) + "\n" for event in events)
    )
    _write_csv(
        sources / "email" / "subscriptions" / "subscriptions_planted.csv",
        [
            {
                "subscription_event_id": "sub-planted-1", "email": ENGAGEMENT_CUSTOMER.email,
                "list_name": "nieuwsbrief", "status": "subscribed", "signup_source": "popup",
                "changed_at": "2026-06-20 10:00:30",
            }
        ],
    )  # fmt: skip

    product_id, unit_price = products[0]
    receipt_id = "S001-20260614-990002"
    _write_csv(
        sources / "pos" / "receipts" / "receipts_planted.csv",
        [
            {
                "receipt_id": receipt_id, "store_id": "S001", "register_id": "S001-K1",
                "receipt_ts": "2026-06-14 11:00:00", "loyalty_card_number": ROBO_CUSTOMER.card_number,
                "payment_method": "pin", "coupon_code": None, "discount_amount": 0,
                "total_amount": unit_price,
            }
        ],
    )  # fmt: skip
    _write_csv(
        sources / "pos" / "receipt_lines" / "receipt_lines_planted.csv",
        [
            {
                "receipt_id": receipt_id, "line_number": 1, "product_id": product_id, "quantity": 1,
                "unit_price": unit_price, "discount_amount": 0, "line_amount": unit_price,
            }
        ],
    )  # fmt: skip
