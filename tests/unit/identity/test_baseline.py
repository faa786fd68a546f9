"""Plain Splink on a hand-written handful of profile records, and the profile-records SQL."""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import pytest

from orchestration.identity.baseline import PROFILE_COLUMNS, profile_records_sql, run_plain_splink

D = dt.date
# (person, first_name, last_name, birth_date, email, phone, postcode, house_number); some exact copies,
# some with typos, initials or missing values, and a household sharing an address.
PEOPLE = [
    ("p1", "Manon", "Kok", D(1988, 3, 1), "manon.kok@gmail.com", "+31618263232", "2522 CE", 23),
    ("p1", "Manon", "Kok", D(1988, 3, 1), "manon.kok@gmail.com", "+31618263232", "2522 CE", 23),
    ("p1", "Manno", "Kok", D(1988, 3, 1), "manon.kok@gmail.com", None, "2522 CE", 23),
    ("p1", "M.", "Kok", None, "manon.kok@gmail.com", "+31618263232", "2522 CE", 23),
    ("p2", "Lucas", "Prins", D(1971, 10, 20), None, "+31612345678", "7601 JJ", 4),
    ("p2", "Lucas", "Prins", D(1971, 10, 20), None, "+31612345678", "7601 JJ", 4),
    ("p2", "Lukas", "Prins", D(1971, 10, 20), "lucas.prins@ziggo.nl", "+31612345678", "7601 JJ", 4),
    ("p3", "Niels", "de Wit", D(1971, 10, 29), "dewit.niels@ziggo.nl", "+31683771212", "5679 JK", 54),
    ("p3", "Niels", "de Wit", D(1971, 10, 29), "dewit.niels@ziggo.nl", "+31683771212", "5679 JK", 54),
    ("p3", "Niels", "de Witt", D(1971, 10, 29), "dewit.niels@ziggo.nl", None, "5679 JK", 54),
    ("p3", "Niels", "de Wit", D(1971, 1, 29), None, "+31683771212", "5679 JK", 54),
    ("p4", "Sanne", "de Wit", D(1974, 5, 2), "sanne.dewit@gmail.com", "+31611112222", "5679 JK", 54),
    ("p4", "Sanne", "de Wit", D(1974, 5, 2), "sanne.dewit@gmail.com", "+31611112222", "5679 JK", 54),
    ("p5", "Henk", "Jacobs", D(1996, 11, 29), "h.jacobs36@xs4all.nl", "+31624842773", "3059 LR", 37),
    ("p5", "Henk", "Jacobs", D(1996, 11, 29), "h.jacobs36@xs4all.nl", "+31624842773", "3059 LR", 37),
    ("p5", "Henk", "Jakobs", D(1996, 11, 29), "h.jacobs36@xs4all.nl", "+31624842773", "3059 LR", 37),
    ("p6", "Daan", "van Beek", D(2005, 11, 7), "daan.vanbeek@ziggo.nl", "+31682648774", "6645 ZB", 10),
    ("p6", "Daan", "van Beek", D(2005, 11, 7), "daan.vanbeek@ziggo.nl", "+31682648774", "6645 ZB", 10),
    ("p6", "Daan", "v. Beek", D(2005, 11, 7), "daan.vanbeek@ziggo.nl", "+31682648774", "6645 ZB", 10),
    ("p7", "Lieke", "Timmermans", D(2006, 4, 16), "lieke.t@hotmail.com", "+31663891429", "9868 NB", 10),
    ("p7", "Lieke", "Timmermans", D(2006, 4, 16), "lieke.t@hotmail.com", "+31663891429", "9868 NB", 10),
    ("p8", "Ahmed", "Bos", D(1941, 11, 28), None, "+31624903229", "3105 RB", 8),
    ("p8", "Ahmed", "Bos", D(1941, 11, 28), None, "+31624903229", "3105 RB", 8),
    ("p9", "Iris", "Brouwer", D(1997, 1, 26), "iris.brouwer70@ziggo.nl", "+31648393885", "4818 WD", 5),
    ("p9", "I.P.", "Brouwer", D(1997, 1, 26), "iris.brouwer70@ziggo.nl", "+31648393885", "4818 WD", 5),
    ("p10", "Koen", "Brouwer", D(1998, 11, 8), "koen_brouwer@gmail.com", "+31684380247", "3650 XT", 59),
    ("p11", "Emma", "Visser", D(1986, 6, 12), "emma.visser@outlook.com", "+31611403719", "6929 TX", 16),
    ("p12", "Tim", "van den Berg", D(2006, 3, 23), "tim.vdberg@outlook.com", "+31624718032", "1077 AH", 37),
    ("p13", "Julia", "Bakker", D(1967, 12, 9), None, "+31633752926", "4035 NT", 10),
    ("p14", "Finn", "Pinas", D(1975, 7, 29), "finn.pinas63@hotmail.nl", None, "7764 XJ", 36),
]
TABLES = [("crm", "customers"), ("webshop", "accounts"), ("loyalty", "members")]


@pytest.fixture(scope="module")
def clustered() -> tuple[dict[int, tuple[str, str | None]], dict[str, float]]:
    """Record number -> (person, cluster) after plain Splink, and its timings."""
    con = duckdb.connect()
    con.execute(
        "create table records (unique_id varchar, source_system varchar, source_table varchar, "
        "source_record_id varchar, first_name varchar, last_name varchar, birth_date date, email varchar, "
        "phone varchar, postcode varchar, house_number integer)"
    )
    rows = []
    for number, (_, *fields) in enumerate(PEOPLE):
        system, table = TABLES[number % 3]
        rows.append((f"{system}:{table}:{number}", system, table, str(number), *fields))
    con.executemany(f"insert into records values ({', '.join('?' * 11)})", rows)
    table, timings = run_plain_splink(
        con, "records", threshold=0.95, max_pairs_u=1e4, log_level=logging.ERROR
    )
    clusters = dict(con.execute(f"select source_record_id, cluster_id from {table}").fetchall())
    leftovers = con.execute(
        "select table_name from duckdb_tables() where table_name like '%splink%'"
    ).fetchall()
    assert leftovers == [(table,)], "Splink's working tables and the input copy are dropped"
    con.close()
    return {n: (person, clusters[str(n)]) for n, (person, *_) in enumerate(PEOPLE)}, timings


def test_every_record_gets_a_cluster(clustered):
    records, timings = clustered
    assert all(cluster is not None for _, cluster in records.values())
    assert timings["records"] == len(PEOPLE)
    assert {"load", "train", "predict", "cluster", "total"} <= timings.keys()
    # some records are linked: fewer clusters than records
    assert len({cluster for _, cluster in records.values()}) < len(PEOPLE)


def test_exact_duplicates_end_up_together(clustered):
    records, _ = clustered
    for a, b in [(0, 1), (4, 5), (7, 8), (11, 12), (13, 14), (16, 17), (19, 20), (21, 22)]:
        assert PEOPLE[a] == PEOPLE[b]
        assert records[a][1] == records[b][1], f"exact copies {a} and {b} apart"


def test_profile_records_sql_unions_the_three_staging_views():
    con = duckdb.connect()
    con.execute("attach ':memory:' as w")
    con.execute("create schema w.staging")
    con.execute(
        "create table w.staging.stg_crm__customers as select 'C1' as customer_id, 'Niels' as first_name, "
        "'de' as infix, 'Wit' as last_name, date '1971-10-29' as birth_date, 'n@x.nl' as email, "
        "'+31683771212' as phone, '5679 JK' as postcode, 54 as house_number, 'Uden' as city"
    )
    con.execute(
        "create table w.staging.stg_webshop__accounts as select 'A1' as account_id, 'C1' as crm_customer_id, "
        "'Niels' as first_name, 'de Wit' as last_name, null::date as birth_date, 'n@x.nl' as email, "
        "null as phone, '5679 JK' as postcode, 54 as house_number"
    )
    con.execute(
        "create table w.staging.stg_loyalty__members as select 'M1' as member_id, 'N.' as first_name, "
        "'Wit' as last_name, null::date as birth_date, null as email, '+31683771212' as phone, "
        "'5679 JK' as postcode, 54 as house_number"
    )
    relation = con.sql(profile_records_sql("w") + " order by unique_id")
    assert tuple(relation.columns) == PROFILE_COLUMNS
    rows = relation.fetchall()
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in rows] == [
        ("crm:customers:C1", "crm", "customers", "C1", "de Wit"),
        ("loyalty:members:M1", "loyalty", "members", "M1", "Wit"),
        ("webshop:accounts:A1", "webshop", "accounts", "A1", "de Wit"),
    ]
    con.close()
