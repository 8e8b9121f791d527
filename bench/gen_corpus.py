#!/usr/bin/env python3
"""Deterministic benchmark corpus for bench/redact_peers.sh (stdlib only).

Writes OUT_DIR/corpus.jsonl  ({"id": n, "text": "..."}, one ~2-4 KB business paragraph per line)
and   OUT_DIR/planted.jsonl  ({"id": n, "kind": K, "category": "pii"|"secret", "value": V,
                               "fragments": [...]}, one line per planted value).

About one value is planted per 2 KB of text: e-mails, phone numbers (E.164, NANP, UK, DE),
Luhn-valid card numbers, mod-97-valid IBANs, US SSNs with "SSN" nearby, IPv4 addresses, AWS
access key ids, GitHub tokens, Slack bot tokens, Stripe live keys, JWTs, `password=`
assignments and, occasionally, PEM private keys. A planted value counts as removed from a
tool's output when none of its `fragments` appears verbatim there (for everything but PEM
keys the only fragment is the value itself; for a PEM key it is each line of the key body).

With --docs, the same records are also written as a folder of Markdown documents for
`sluice ingest` (OUT_DIR/docs/dept-NN/doc-NNNNN.md, ~40-60 KB each: a title, then one
"## Section" per record), which is what bench/ingest_scale.sh ingests.

Usage: gen_corpus.py [--size BYTES|10MB|512KB] [--seed N] [--out DIR] [--docs]
"""

import argparse
import base64
import json
import os
import random
import string
import sys

# ---------------------------------------------------------------- prose

COMPANIES = ["Northwind", "Contoso", "Globex", "Initech", "Umbrella Logistics", "Hooli",
             "Vandelay Industries", "Stark Freight", "Wayne Analytics", "Acme Retail",
             "Blue Harbor Bank", "Pied Piper", "Soylent Foods", "Tyrell Systems", "Oscorp Health"]
TEAMS = ["finance", "procurement", "the platform team", "customer success", "legal",
         "the data team", "sales operations", "the security office", "facilities", "payroll",
         "the infrastructure group", "marketing", "the billing squad", "internal audit"]
PEOPLE = ["Maria Keller", "James O'Connor", "Priya Raman", "Tomasz Nowak", "Aiko Tanaka",
          "Lucas Moreau", "Sofia Rossi", "Daniel Brooks", "Fatima Haddad", "Erik Lindqvist",
          "Grace Liu", "Oliver Schmidt", "Chloe Dupont", "Samuel Adeyemi", "Hannah Weber"]
FIRST = ["maria", "james", "priya", "tomasz", "aiko", "lucas", "sofia", "daniel", "fatima",
         "erik", "grace", "oliver", "chloe", "samuel", "hannah", "noah", "emma", "liam", "mia"]
LAST = ["keller", "oconnor", "raman", "nowak", "tanaka", "moreau", "rossi", "brooks", "haddad",
        "lindqvist", "liu", "schmidt", "dupont", "adeyemi", "weber", "smith", "garcia", "kim"]
DOMAINS = ["northwind.com", "contoso.co.uk", "globex.de", "initech.io", "hooli.com",
           "vandelay.net", "acme-retail.com", "blueharbor.bank", "tyrell.systems", "oscorp.org"]
PROJECTS = ["the Q3 migration", "the vendor consolidation", "the renewal cycle",
            "the warehouse rollout", "the onboarding revamp", "the pricing review",
            "the data retention programme", "the ERP upgrade", "the SOC 2 audit",
            "the customer portal relaunch", "the cost-reduction plan", "the APAC expansion"]
VERBS = ["reviewed", "approved", "postponed", "escalated", "summarised", "re-scoped",
         "signed off on", "flagged", "circulated", "reconciled", "benchmarked", "drafted"]
OBJECTS = ["the quarterly forecast", "the revised statement of work", "the draft budget",
           "the incident report", "the supplier scorecard", "the headcount plan",
           "the contract amendment", "the board deck", "the churn analysis",
           "the capacity model", "the invoice backlog", "the risk register"]
ADVERBS = ["yesterday", "on Monday", "last week", "ahead of schedule", "after some delay",
           "during the steering call", "before the freeze", "in the afternoon session"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]

SENTENCES = [
    "{person} from {team} {verb} {obj} {adv}.",
    "As part of {project}, {team} {verb} {obj} and asked {person} to follow up by {month} {day}.",
    "The steering committee at {company} expects {project} to close before the end of {month}.",
    "{person} noted that {obj} still shows a variance of {pct}% against plan.",
    "Invoice {inv} for {amount} EUR was {verb} by {team} {adv}.",
    "According to {person}, {company} will need roughly {n} additional seats next quarter.",
    "{team} {verb} {obj}; open questions are tracked in ticket OPS-{ticket}.",
    "We agreed that {project} depends on {obj}, which {person} owns.",
    "Revenue for the {region} region came in at {amount} USD, {pct}% above the prior month.",
    "The next review of {obj} is scheduled for {month} {day} at {hour}:{minute}.",
    "{company} confirmed the purchase order PO-{po} covering {n} units at {unit} each.",
    "In short, {team} believes {project} is on track, although {obj} needs another pass.",
    "{person} shared the minutes with {team} and highlighted three action items.",
    "Shipping volumes through the {region} hub rose to {n} pallets per week in {month}.",
    "Please keep {obj} confidential until {company} publishes its results on {month} {day}.",
    "After the retrospective, {team} {verb} the runbook and {verb2} {obj}.",
    "Headcount in {team} stays flat at {n} while {project} is under way.",
    "{person} asked whether {company} could extend payment terms from 30 to {terms} days.",
]
REGIONS = ["EMEA", "North America", "LATAM", "APAC", "DACH", "Nordics", "Benelux", "UK&I"]


def sentence(rng):
    t = rng.choice(SENTENCES)
    s = t.format(
        person=rng.choice(PEOPLE), team=rng.choice(TEAMS), verb=rng.choice(VERBS),
        verb2=rng.choice(VERBS), obj=rng.choice(OBJECTS), adv=rng.choice(ADVERBS),
        project=rng.choice(PROJECTS), company=rng.choice(COMPANIES), month=rng.choice(MONTHS),
        day=rng.randint(1, 28), pct=round(rng.uniform(0.5, 18.0), 1),
        inv=f"INV-{rng.randint(2019, 2025)}-{rng.randint(1000, 99999)}",
        amount=f"{rng.randint(1, 950)},{rng.randint(0, 999):03d}.{rng.randint(0, 99):02d}",
        n=rng.randint(3, 480), ticket=rng.randint(100, 9999), region=rng.choice(REGIONS),
        hour=rng.randint(8, 17), minute=rng.choice(["00", "15", "30", "45"]),
        po=rng.randint(100000, 999999), unit=f"{rng.randint(2, 900)}.{rng.randint(0, 99):02d}",
        terms=rng.choice([45, 60, 90]))
    return s[0].upper() + s[1:]


# ---------------------------------------------------------------- planted values

ALNUM = string.ascii_letters + string.digits
B32 = string.ascii_uppercase + "234567"


def rand_str(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def luhn_complete(rng, prefix, length):
    digits = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return digits + str((10 - total % 10) % 10)


def gen_email(rng):
    sep = rng.choice([".", "_", ""])
    return f"{rng.choice(FIRST)}{sep}{rng.choice(LAST)}{rng.choice(['', str(rng.randint(1, 99))])}@{rng.choice(DOMAINS)}"


NANP_AREAS = ["212", "213", "310", "312", "404", "415", "503", "512", "617", "646", "702",
              "713", "718", "801", "206", "303", "305", "469", "602", "919"]


def nanp_parts(rng):
    exch = str(rng.randint(2, 9)) + f"{rng.randint(0, 99):02d}"
    while exch[1:] == "11" or exch == "555":
        exch = str(rng.randint(2, 9)) + f"{rng.randint(0, 99):02d}"
    return rng.choice(NANP_AREAS), exch, f"{rng.randint(0, 9999):04d}"


def gen_phone(rng):
    style = rng.choice(["e164_us", "nanp_paren", "nanp_dash", "uk_intl", "uk_nat", "de_intl",
                        "de_mobile_intl", "e164_compact_de"])
    if style == "e164_us":
        a, e, s = nanp_parts(rng)
        return f"+1 {a} {e} {s}", "phone_e164"
    if style == "nanp_paren":
        a, e, s = nanp_parts(rng)
        return f"({a}) {e}-{s}", "phone_nanp"
    if style == "nanp_dash":
        a, e, s = nanp_parts(rng)
        return f"{a}-{e}-{s}", "phone_nanp"
    if style == "uk_intl":
        return f"+44 20 7{rng.randint(100, 999)} {rng.randint(0, 9999):04d}", "phone_uk"
    if style == "uk_nat":
        return f"020 7{rng.randint(100, 999)} {rng.randint(0, 9999):04d}", "phone_uk"
    if style == "de_intl":
        city = rng.choice(["30", "89", "40", "221", "69"])
        sub = str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(6))
        return f"+49 {city} {sub}", "phone_de"
    if style == "de_mobile_intl":
        return f"+49 15{rng.choice('127')} {rng.randint(10000000, 99999999)}", "phone_de"
    city = rng.choice(["30", "89", "40"])
    return f"+49{city}{rng.randint(2000000, 9999999)}", "phone_e164"


def gen_card(rng):
    brand = rng.choice(["visa", "visa", "mc", "amex"])
    if brand == "visa":
        num = luhn_complete(rng, "4", 16)
    elif brand == "mc":
        num = luhn_complete(rng, str(rng.randint(51, 55)), 16)
    else:
        num = luhn_complete(rng, rng.choice(["34", "37"]), 15)
    fmt = rng.choice(["plain", "space", "dash"])
    if fmt == "plain":
        return num
    sep = " " if fmt == "space" else "-"
    if len(num) == 15:
        return sep.join([num[:4], num[4:10], num[10:]])
    return sep.join(num[i:i + 4] for i in range(0, 16, 4))


IBAN_BBAN = {
    "DE": lambda r: rand_str(r, string.digits, 18),
    "GB": lambda r: rand_str(r, string.ascii_uppercase, 4) + rand_str(r, string.digits, 14),
    "FR": lambda r: rand_str(r, string.digits, 23),
    "NL": lambda r: rand_str(r, string.ascii_uppercase, 4) + rand_str(r, string.digits, 10),
    "ES": lambda r: rand_str(r, string.digits, 20),
    "IT": lambda r: rand_str(r, string.ascii_uppercase, 1) + rand_str(r, string.digits, 22),
}


def gen_iban(rng):
    cc = rng.choice(sorted(IBAN_BBAN))
    bban = IBAN_BBAN[cc](rng)
    n = int("".join(str(int(c, 36)) for c in bban + cc + "00"))
    iban = f"{cc}{98 - n % 97:02d}{bban}"
    if rng.random() < 0.5:
        return iban
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def gen_ssn(rng):
    area = rng.randint(1, 899)
    while area == 666:
        area = rng.randint(1, 899)
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def gen_ipv4(rng):
    return f"{rng.choice([23, 34, 52, 64, 81, 91, 104, 142, 151, 185, 203, 212])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def gen_slack(rng):
    return f"xoxb-{rand_str(rng, string.digits, rng.randint(10, 13))}-{rand_str(rng, string.digits, rng.randint(10, 13))}-{rand_str(rng, ALNUM, 24)}"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def gen_jwt(rng):
    header = b64url(json.dumps({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"},
                               separators=(",", ":")).encode())
    payload = b64url(json.dumps({"sub": str(rng.randint(10**6, 10**9)),
                                 "name": rng.choice(PEOPLE),
                                 "iat": rng.randint(1_600_000_000, 1_750_000_000),
                                 "scope": rng.choice(["read", "read write", "admin"])},
                                separators=(",", ":")).encode())
    sig = b64url(bytes(rng.getrandbits(8) for _ in range(32)))
    return f"{header}.{payload}.{sig}"


PW_ALPHABET = string.ascii_letters + string.digits + "!#%^*_-+"


def gen_password(rng):
    return rand_str(rng, PW_ALPHABET, rng.randint(12, 20))


def gen_pem(rng):
    label = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.randint(300, 600)))).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----", lines


def plant(rng):
    """Returns (kind, category, value, snippet, fragments)."""
    kinds = [("email", 12), ("phone", 12), ("credit_card", 8), ("iban", 8), ("us_ssn", 7),
             ("ipv4", 7), ("aws_access_key_id", 6), ("github_token", 6), ("slack_bot_token", 5),
             ("stripe_secret_key", 5), ("jwt", 5), ("password_assignment", 7),
             ("private_key", 1)]
    kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
    p = rng.choice(PEOPLE)
    if kind == "email":
        v = gen_email(rng)
        s = rng.choice([f"You can reach {p} at {v} for any questions.",
                        f"Send the signed copy to {v} before Friday.",
                        f"The account owner is listed as {v} in the CRM.",
                        f"Replies went to {v} instead of the shared inbox."])
        return kind, "pii", v, s, [v]
    if kind == "phone":
        v, sub = gen_phone(rng)
        s = rng.choice([f"Call {p} on {v} if the shipment is delayed.",
                        f"Her direct line is {v}.",
                        f"The supplier's hotline, {v}, is staffed until six.",
                        f"Phone: {v} (mobile, weekdays only)."])
        return sub, "pii", v, s, [v]
    if kind == "credit_card":
        v = gen_card(rng)
        s = rng.choice([f"The booking was charged to the corporate card {v}, expiry 0{rng.randint(1, 9)}/2{rng.randint(6, 9)}.",
                        f"Customer paid with card number {v} and asked for a receipt.",
                        f"Please refund the charge on credit card {v} by next week."])
        return kind, "pii", v, s, [v]
    if kind == "iban":
        v = gen_iban(rng)
        s = rng.choice([f"Wire the deposit to IBAN {v} referencing the PO number.",
                        f"Updated bank details for the vendor: {v}.",
                        f"Payroll will use the account {v} from next month."])
        return kind, "pii", v, s, [v]
    if kind == "us_ssn":
        v = gen_ssn(rng)
        s = rng.choice([f"The onboarding form lists SSN {v} for the new contractor.",
                        f"{p}'s SSN: {v} was entered twice in the HR system.",
                        f"For the background check we need the SSN ({v}) confirmed."])
        return kind, "pii", v, s, [v]
    if kind == "ipv4":
        v = gen_ipv4(rng)
        s = rng.choice([f"The reporting server at {v} dropped connections overnight.",
                        f"Traffic from {v} was rate-limited by the edge proxy.",
                        f"Whitelist {v} for the partner's SFTP upload."])
        return kind, "pii", v, s, [v]
    if kind == "aws_access_key_id":
        v = "AKIA" + rand_str(rng, B32, 16)
        s = rng.choice([f"The export job still uses access key {v} from the old account.",
                        f"aws_access_key_id = {v}",
                        f"Rotate {v}; it was pasted in the incident channel."])
        return kind, "secret", v, s, [v]
    if kind == "github_token":
        v = "ghp_" + rand_str(rng, ALNUM, 36)
        s = rng.choice([f"The CI runner authenticates with {v} which expires in May.",
                        f"GITHUB_TOKEN={v}",
                        f"Someone committed the token {v} to the docs repo."])
        return kind, "secret", v, s, [v]
    if kind == "slack_bot_token":
        v = gen_slack(rng)
        s = rng.choice([f"The alerts bot posts with {v} into #ops.",
                        f"SLACK_BOT_TOKEN={v}",
                        f"Revoke the Slack token {v} after the offboarding."])
        return kind, "secret", v, s, [v]
    if kind == "stripe_secret_key":
        v = "sk_live_" + rand_str(rng, ALNUM, 24)
        s = rng.choice([f"Billing was configured with the key {v} on the staging box.",
                        f"STRIPE_SECRET_KEY={v}",
                        f"The webhook handler reads {v} from an env file."])
        return kind, "secret", v, s, [v]
    if kind == "jwt":
        v = gen_jwt(rng)
        s = rng.choice([f"The failing request carried Authorization: Bearer {v}",
                        f"Session token in the log: {v}",
                        f"The partner API accepted the token {v} even after logout."])
        return kind, "secret", v, s, [v]
    if kind == "password_assignment":
        v = gen_password(rng)
        key = rng.choice(["password", "db_password", "smtp_password", "admin_password"])
        s = rng.choice([f"The config snippet still contains {key}={v} in plain text.",
                        f"{key}={v}",
                        f"Legacy setting found on the host: {key}={v}"])
        return kind, "secret", v, s, [v]
    pem, lines = gen_pem(rng)
    s = f"The following key was found in the backup share:\n{pem}\nIt has been revoked."
    return kind, "secret", pem, s, lines


# ---------------------------------------------------------------- records

def parse_size(s):
    s = s.strip().upper()
    # decimal units, as in the benchmark's MB/s (1 MB = 10^6 bytes)
    for suf, mul in (("MB", 10**6), ("KB", 10**3), ("M", 10**6), ("K", 10**3), ("B", 1)):
        if s.endswith(suf):
            return int(float(s[:-len(suf)]) * mul)
    return int(s)


def record(rng):
    target = rng.randint(2048, 4096)
    n_plant = max(1, round(target / 2048 + rng.uniform(-0.5, 0.5)))
    sentences = []
    size = 0
    while size < target - 120 * n_plant:
        s = sentence(rng)
        sentences.append(s)
        size += len(s) + 1
    planted = []
    for _ in range(n_plant):
        kind, cat, value, snippet, frags = plant(rng)
        pos = rng.randint(1, len(sentences))
        sentences.insert(pos, snippet)
        planted.append((kind, cat, value, frags))
    # a line break now and then, as in pasted e-mails or notes
    text = ""
    for i, s in enumerate(sentences):
        if i and ("\n" in s or s.startswith(("aws_", "GITHUB", "SLACK", "STRIPE")) or "=" in s[:20]):
            text += "\n" + s + "\n"
        elif i and rng.random() < 0.06:
            text += "\n\n" + s
        else:
            text += (" " if i else "") + s
    return text.replace("\n ", "\n"), planted


class Docs:
    """Groups records into Markdown files of ~40-60 KB, 100 files per department folder."""

    def __init__(self, root, seed):
        # Its own generator: --docs must not change corpus.jsonl for a given seed.
        self.root, self.rng = root, random.Random(seed + 1)
        self.count, self.parts, self.size, self.target = 0, [], 0, 0

    def add(self, text):
        if not self.parts:
            self.target = self.rng.randint(40_000, 60_000)
            title = f"{self.rng.choice(COMPANIES)} {self.rng.choice(TEAMS)} notes {self.count}"
            self.parts.append(f"# {title}\n")
        heading = f"## Section {len(self.parts)}: {self.rng.choice(TEAMS)}"
        self.parts.append(f"{heading}\n\n{text}\n")
        self.size += len(text)
        if self.size >= self.target:
            self.close()

    def close(self):
        if not self.parts:
            return
        folder = os.path.join(self.root, f"dept-{self.count // 100:02d}")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"doc-{self.count:05d}.md")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(self.parts))
        self.count, self.parts, self.size = self.count + 1, [], 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="10MB", help="approximate corpus size (default 10MB)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    ap.add_argument("--docs", action="store_true",
                    help="also write the records as Markdown documents under OUT/docs/")
    a = ap.parse_args()
    limit = parse_size(a.size)
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    total = 0
    n = 0
    docs = Docs(os.path.join(a.out, "docs"), a.seed) if a.docs else None
    with open(os.path.join(a.out, "corpus.jsonl"), "w", encoding="utf-8") as cf, \
         open(os.path.join(a.out, "planted.jsonl"), "w", encoding="utf-8") as pf:
        while total < limit:
            text, planted = record(rng)
            if docs:
                docs.add(text)
            line = json.dumps({"id": n, "text": text}, ensure_ascii=False) + "\n"
            cf.write(line)
            for kind, cat, value, frags in planted:
                pf.write(json.dumps({"id": n, "kind": kind, "category": cat, "value": value,
                                     "fragments": frags}) + "\n")
            total += len(line.encode())
            n += 1
    if docs:
        docs.close()
        print(f"gen_corpus: {docs.count} documents -> {a.out}/docs/", file=sys.stderr)
    print(f"gen_corpus: {n} records, {total} bytes -> {a.out}/corpus.jsonl, planted.jsonl",
          file=sys.stderr)


if __name__ == "__main__":
    main()
