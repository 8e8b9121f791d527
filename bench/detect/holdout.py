#!/usr/bin/env python3
"""Writes bench/detect/holdout_pii.jsonl and bench/detect/holdout_secrets.jsonl: a second,
held-out labelled set, written after the issue-14 rules and scored once, never tuned against.

Same value generators as gen.py (the formats' specifications), but another seed and other
surroundings: CSV rows, JSON, log lines, e-mail signatures, lower-case labels, labels after the
value, values at the start or end of a line, and new near misses (random ids of the same length,
wrong check digits). It measures how far the rules carry beyond the sentences they were written
against; `python3 bench/detect/holdout.py` reproduces it byte for byte.
"""

import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
src = open(os.path.join(HERE, "gen.py"), encoding="utf-8").read()
helpers = src.split("# ================================================================================================\n# PII")[0]
ns = {"__file__": os.path.join(HERE, "gen.py")}
exec(helpers, ns)  # the Cases class, check-digit functions and value generators
ns["rng"].seed(97531)
g = type("G", (), ns)  # attribute access to the helpers
rng = ns["rng"]
pick = ns["pick"]
DIG, UP, LO, ALNUM, HEX = ns["DIG"], ns["UP"], ns["LO"], ns["ALNUM"], ns["HEX"]

P = ns["Cases"]()

# --- UK ------------------------------------------------------------------------------------------------
for i in range(4):
    a, b = g.uk_vrn()
    v = a + " " + b if i % 2 else a + b
    P.pos("UK_VEHICLE_REGISTRATION", ["{v},Ford Focus,2019,silver", "Parking fine issued to vehicle {v}.",
                                       "insurance quote for car reg {v}", "\"vrn\": \"{v}\""][i], v)
for i in range(3):
    P.pos("UK_DRIVING_LICENCE", ["{v}", "dl_number={v}", "Licence no {v} (provisional)"][i], g.uk_dl())
for i in range(4):
    d = g.nhs()
    v = [ns["group"](d, [3, 3, 4], " "), ns["group"](d, [3, 3, 4], "-"), d, ns["group"](d, [3, 3, 4], " ")][i]
    P.pos("UK_NHS_NUMBER", ["nhs: {v}", "{v} (NHS)", "patient_nhs_number,{v}", "NHS No {v}, DOB on file"][i], v)
P.pos("UK_POSTCODE", "Address: 1 High St, Leeds LS1 4AP", "LS1 4AP")
P.pos("UK_POSTCODE", "postcode=M11AE", "M11AE")
P.pos("UK_PASSPORT", "uk passport {v} expires 2030", pick(UP, 2) + pick(DIG, 7))

# --- Spain / Germany / Italy ------------------------------------------------------------------------------
for i in range(3):
    n, l = g.dni(seven=(i == 2))
    P.pos("ES_DNI", ["{v};García;Sevilla", "Su DNI es {v}.", "dni={v}"][i], n + l)
P.pos("ES_NIE", "{v} (NIE)", g.nie())
P.pos("ES_PASSPORT", "nº pasaporte {v}", pick(UP, 3) + pick(DIG, 6))
P.pos("DE_TAX_ID", "IdNr. {v}", g.de_tax_id())
v = g.de_tax_id()
P.pos("DE_TAX_ID", "Steuer-Identifikationsnummer: {v}", ns["group"](v, [2, 3, 3, 3]))
P.pos("DE_VAT_ID", "{v} (USt-ID)", g.de_vat())
P.pos("DE_VAT_ID", "Lieferant: Muster GmbH, {v}", g.de_vat())
P.pos("DE_HEALTH_INSURANCE", "Versicherten-Nr.: {v}", g.kvnr())
P.pos("DE_SOCIAL_SECURITY", "Versicherungsnummer {v}", g.rvnr())
P.pos("DE_ID_CARD", "Ausweis-Nr. {v}", g.de_id_card())
P.pos("DE_PASSPORT", "Reisepassnummer: {v}", g.de_passport())
P.pos("IT_FISCAL_CODE", "{v}", g.codice_fiscale())
P.pos("IT_VAT_CODE", "P. IVA {v}", g.it_vat())
P.pos("IT_IDENTITY_CARD", "CIE n. {v}", pick(UP, 2) + pick(DIG, 5) + pick(UP, 2))
P.pos("IT_PASSPORT", "passaporto {v}", pick(UP, 2) + pick(DIG, 7))

# --- US ---------------------------------------------------------------------------------------------
for i in range(4):
    a, gg, s = g.ssn()
    v = [a + "-" + gg + "-" + s, a + " " + gg + " " + s, a + "." + gg + "." + s, a + gg + s][i]
    P.pos("US_SSN", ["{v},Smith,John", "SSN:{v}", "ssn {v}", "social security no {v}"][i], v)
a, gg, s = g.itin()
P.pos("US_ITIN", "ITIN {v}", a + "-" + gg + "-" + s)
P.pos("US_MBI", "{v}", g.mbi(dashes=True))
P.pos("US_MBI", "medicare id {v}", g.mbi())
v = g.aba()
P.pos("US_BANK_ROUTING", "{v}", v[:4] + "-" + v[4:8] + "-" + v[8])
P.pos("US_BANK_ROUTING", "routing: {v}", g.aba())
P.pos("MEDICAL_LICENSE", "Dr. Patel, DEA {v}", g.dea())
P.pos("US_PASSPORT", "passport #{v}", pick("123456789", 1) + pick(DIG, 8))

# --- Nordics / Poland --------------------------------------------------------------------------------
P.pos("SE_PERSONNUMMER", "{v}", g.pnr(century=True))
P.pos("SE_PERSONNUMMER", "pnr {v}", g.pnr())
P.pos("SE_ORGANISATIONSNUMMER", "orgnr: {v}", g.orgnr())
P.pos("PL_PESEL", "{v}", g.pesel())
P.pos("PL_PESEL", "Pesel: {v}", g.pesel())

# --- Phones -------------------------------------------------------------------------------------------
for t, v in [("tel: {v}", "+1 (415) 555-0134"), ("{v} (mobile)", "+44 7700 900123"),
             ("Cell {v}", "(646) 555-0188"), ("Fon: {v}", "+49 (0)30 12345678"),
             ("phone,{v}", "+81-90-1234-5678"), ("Mob. {v}", "0412 555 678"),
             ("WeChat/mobile {v}", "139 1234 5678"), ("Tel {v}", "02-2345-6789"),
             ("AU: {v}", "+61 491 570 110"), ("Appelez le {v}", "06 98 76 54 32"),
             ("ph. {v}", "+91 80 2345 6789"), ("Office line {v}", "(11) 3456-7890")]:
    P.pos("PHONE_NUMBER", t, v)

# --- Network ------------------------------------------------------------------------------------------
for t, v in [("src={v}", "2001:db8:0:1::2"), ("neighbour {v}", "fe80::7"), ("{v} - - [10/Oct/2024]", "2001:db8::ff00:42:8329"),
             ("inet6 {v}/64 scope link", "fe80::a00:27ff:fe4e:66a1"), ("ipv6 localhost {v}", "::1")]:
    P.pos("IPV6_ADDRESS", t, v)
P.pos("IPV4_ADDRESS", "{v} - - [10/Oct/2024:13:55:36 +0000] GET /", "192.0.2.77")

# --- Dates / URLs -------------------------------------------------------------------------------------
for t, v in [("created: {v}", "2023-11-05T08:15:00+02:00"), ("{v},invoice,paid", "05/11/2023"),
             ("Am {v} beginnt", "5.11.2023"), ("on Nov 5, 2023 we met", "Nov 5, 2023"),
             ("due {v}", "5th November 2023"), ("week of {v}", "November 5"),
             ("report_date={v}", "2023/11/05"), ("Sun, {v} 10:00", "05 Nov 2023")]:
    P.pos("DATE_TIME", t, v)
P.pos("DATE_OF_BIRTH", "dob=1990-07-04", "1990-07-04")
for t, v in [("({v})", "https://status.example.com/incidents/42"), ("go to {v}", "www.example.org"),
             ("Link: {v}.", "https://example.com/docs/getting-started"),
             ("mirror {v}", "ftp://ftp.example.net/pub"), ("see example.co.uk for more", "example.co.uk")]:
    P.pos("URL", t, v)

# --- Near misses ------------------------------------------------------------------------------------------
d = g.nhs()
for t, v in [("order id {v}", pick("123456789", 1) + pick(DIG, 10)),
             ("ref {v}", pick("123456789", 1) + pick(DIG, 8)),
             ("SKU {v}", pick(UP, 2) + pick(DIG, 2) + " " + pick(UP, 4)),
             ("build {v}", "2.4.11"), ("sha {v}", pick(HEX, 12)),
             ("version {v} released", "3.10.12"), ("room {v}", "B-204"),
             ("invoice {v}", pick("123456789", 1) + pick(DIG, 5) + "-" + pick(DIG, 4)),
             ("NHS number {v} (mistyped)", d[:9] + ns["bad_digit"](d[9])),
             ("time {v}", "23:59:59"), ("price {v}", "1.234,56"), ("call Foo::{v}", "new")]:
    P.neg(t, v)
v = g.pesel()
P.neg("Pesel {v} (zły)", v[:10] + ns["bad_digit"](v[10]))
a, gg, s = g.ssn()
P.neg("ssn 000-{v}", gg + "-" + s)

P.write(os.path.join(HERE, "holdout_pii.jsonl"))

# ================================================================================================
S = ns["Cases"]()


def sp(entity, template, value):
    S.pos(entity, template, value, secret=True)


def sn(template, *values):
    S.neg(template, *values, secret=True)


uuid = lambda: "-".join(pick(HEX, n) for n in (8, 4, 4, 4, 12))
sp("HTTP_BASIC_AUTH", "$ curl -sS --user {v} https://ci.example.com/api/json", "robot:" + pick(ALNUM, 15))
sp("HTTP_BASIC_AUTH", "curl -k -u \"{v}\" -d @payload.json https://hooks.example.org", "svc:" + pick(ALNUM, 14) + "%")
sp("HTTP_BASIC_AUTH", "Authorization: Basic {v}", pick(ALNUM + "+/", 28) + "=")
sp("BEARER_TOKEN", "-H \"authorization: bearer {v}\"", pick(ALNUM, 40))
sp("SLACK_TOKEN", "slack_bot: {v}", "xoxb-" + pick(DIG, 11) + "-" + pick(ALNUM, 22))
sp("SLACK_TOKEN", "{v}", "xoxs-" + pick(DIG, 9) + "-" + pick(DIG, 9) + "-" + pick(DIG, 9) + "-" + pick(HEX, 24))
sp("SOURCEGRAPH_TOKEN", "{v}", "sgp_" + pick(HEX, 16) + "_" + pick(HEX, 40))
sp("SONARQUBE_TOKEN", "sonar_token: \"{v}\"", "squ_" + pick(HEX, 40))
sp("SUMOLOGIC_ACCESS_KEY", "SumoAccessKey: {v}", pick(ALNUM, 64))
sp("INTRA42_CLIENT_SECRET", "{v}", "s-s4t2ud-" + pick(HEX, 64))
sp("ONEPASSWORD_SECRET_KEY", "{v}", "A3-" + pick(UP + DIG, 6) + "-" + pick(UP + DIG, 11) + "-" + "-".join(pick(UP + DIG, 5) for _ in range(3)))
sp("FACEBOOK_ACCESS_TOKEN", "fb_token={v}", pick("123456789", 1) + pick(DIG, 14) + "|" + pick(ALNUM + "_-", 32))
sp("HEROKU_API_KEY", "heroku api key = {v}", uuid())
sp("HUBSPOT_API_KEY", "hapikey (HubSpot): {v}", uuid())
sp("SNYK_TOKEN", "export SNYK_TOKEN=\"{v}\"", uuid())
sp("STRIPE_API_KEY", "{v}", "rk_live_" + pick(ALNUM, 32))
sp("GENERIC_API_KEY", "\"client_secret\": \"{v}\",", pick(ALNUM, 40))
sp("GENERIC_API_KEY", "secret: {v}", pick(ALNUM + "-_", 30))
sp("GENERIC_API_KEY", "./deploy.sh --token {v}", pick(ALNUM, 36))
sp("GENERIC_API_KEY", "The API key for staging is {v}.", pick(ALNUM, 32))
sp("PASSWORD", "db password is {v}", pick(ALNUM, 8) + "#" + pick(DIG, 2))
sp("PASSWORD", "PASSWORD={v}", pick(ALNUM, 16))
aws_id = "AKIA" + pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
S.add("access key {v} secret {v}", ("AWS_ACCESS_KEY_ID", aws_id), ("AWS_SECRET_ACCESS_KEY", pick(ALNUM + "/+", 40)), secret=True)
sp("GCP_API_KEY", "key={v}&libraries=places", "AIzaSy" + pick(ALNUM + "_-", 33))
sp("GITHUB_TOKEN", "{v}", "ghp_" + pick(ALNUM, 36))

sn("curl -u {v} https://example.com", "username:password")
sn("curl -u {v} https://example.com", "admin:${ADMIN_PASSWORD}")
sn("Authorization: Bearer {v}", "${ACCESS_TOKEN}")
sn("token = {v}", "None")
sn("secret = {v}", "os.getenv('SECRET')")
sn("api_key: {v}", "<insert key here>")
sn("SLACK_TOKEN={v}", "xoxb-xxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxx")
sn("stripe key {v}", "sk_test_xxxxxxxxxxxxxxxxxxxxxxxx")
sn("GOOGLE_MAPS_KEY={v}", "AIzaSy" + "X" * 33)
sn("commit {v}", pick(HEX, 40))
sn("uuid {v} for the job", uuid())
sn("the password is {v}", "incorrect")
sn("password reset link expired", )
sn("token: {v}", "see vault")
sn("heroku app {v} deployed", "cold-dawn-1234")

S.write(os.path.join(HERE, "holdout_secrets.jsonl"))
print("holdout pii: %d cases, secrets: %d cases" % (len(P.rows), len(S.rows)))
