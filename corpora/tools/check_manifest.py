#!/usr/bin/env python3
"""Verify corpora/MANIFEST.toml against the documents in corpora/.

Checks, for every [[planted]] entry:
  * the file exists and the value occurs in it verbatim (exact bytes);
  * the value is well-formed for its entity and passes the format's checksum
    (Luhn, IBAN mod 97, ABA, NHS mod 11, DNI/NIE letter, codice fiscale, NIR key, BSN 11-proof,
    Belgian mod 97, PESEL, personnummer, HETU, NIF, Steuer-ID ISO 7064 + digit rule, PPSN,
    SIN, TFN, Verhoeff, CPF, VIN, base58check / bech32, EIP-55 Keccak, JWT structure, ...);
  * context words the detectors rely on ("SSN", "routing", "passport", ...) are near every
    occurrence of the value;
  * `encoding = "base64"` entries decode to text that contains a valid value of the entity;
  * `obfuscated = true` entries contain invisible or full-width characters and are valid once
    normalised (zero-width removed, NFKC);
  * PERSON / CUSTOMER_NAME / PROJECT_CODENAME values are in the keyword lists of
    policies/custom/.
Then it scans every document for value-like strings (e-mails, IPs, card numbers, IBANs, token
prefixes, long digit runs, ...) that are NOT covered by a manifest entry of that file, so that
nothing sensitive-looking is planted by accident.

Validators are implemented here independently of generate_values.py (only Keccak-256 is
shared; it is self-tested against the published test vectors below).

Usage: python3 corpora/tools/check_manifest.py   (exit status 0 = all good). Python >= 3.11.
"""
from __future__ import annotations

import base64
import binascii
import collections
import datetime
import ipaddress
import json
import os
import re
import sys
import tomllib
import unicodedata
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.dirname(HERE)
REPO = os.path.dirname(CORPUS)
sys.path.insert(0, HERE)
from generate_values import keccak256  # noqa: E402

ERRORS: list[str] = []
WARNINGS: list[str] = []


def err(msg: str) -> None:
    ERRORS.append(msg)


# --------------------------------------------------------------------------- helpers
def only_digits(s: str) -> str:
    return re.sub(r"[\s\-./]", "", s)


def luhn_ok(num: str) -> bool:
    if not num.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(num)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def v_card(v):
    n = only_digits(v)
    if not (luhn_ok(n) and 13 <= len(n) <= 19):
        return False
    if n[0] == "4":
        return len(n) == 16
    if n[:2] in ("34", "37"):
        return len(n) == 15
    if 51 <= int(n[:2]) <= 55 or 2221 <= int(n[:4]) <= 2720:
        return len(n) == 16
    return False


IBAN_LEN = {"DE": 22, "GB": 22, "ES": 24, "FR": 27, "NL": 18}


def v_iban(v):
    s = v.replace(" ", "")
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", s) or IBAN_LEN.get(s[:2]) != len(s):
        return False
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1


def v_aba(v):
    d = [int(c) for c in v] if re.fullmatch(r"\d{9}", v) else None
    if not d:
        return False
    pre = int(v[:2])
    if not (0 <= pre <= 12 or 21 <= pre <= 32 or 61 <= pre <= 72 or pre == 80):
        return False
    return (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])) % 10 == 0


def v_ssn(v):
    m = re.fullmatch(r"(\d{3})-(\d{2})-(\d{4})", v)
    if not m:
        return False
    a, g, s = (int(x) for x in m.groups())
    return 0 < a < 900 and a != 666 and g != 0 and s != 0


def v_itin(v):
    m = re.fullmatch(r"9\d{2}-(\d{2})-\d{4}", v)
    if not m:
        return False
    g = int(m.group(1))
    return 70 <= g <= 88 or 90 <= g <= 92 or 94 <= g <= 99


def v_ein(v):
    m = re.fullmatch(r"(\d{2})-\d{7}", v)
    valid_prefixes = {1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31,
                      32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 50, 51, 52, 53, 54,
                      55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 71, 72, 73, 74, 75, 76, 77, 80,
                      81, 82, 83, 84, 85, 86, 87, 88, 90, 91, 92, 93, 94, 95, 98, 99}
    return bool(m) and int(m.group(1)) in valid_prefixes


def v_nino(v):
    s = v.replace(" ", "")
    m = re.fullmatch(r"([A-CEGHJ-PR-TW-Z])([A-CEGHJ-NPR-TW-Z])\d{6}[A-D]", s)
    return bool(m) and s[:2] not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def v_nhs(v):
    n = only_digits(v)
    if not re.fullmatch(r"\d{10}", n):
        return False
    r = 11 - sum(int(c) * (10 - i) for i, c in enumerate(n[:9])) % 11
    r = 0 if r == 11 else r
    return r != 10 and r == int(n[9])


def v_postcode(v):
    return bool(re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2}", v))


def v_sort(v):
    return bool(re.fullmatch(r"\d{2}-\d{2}-\d{2}", v))


DNI = "TRWAGMYFPDXBNJZSQVHLCKE"


def v_dni(v):
    return bool(re.fullmatch(r"\d{8}[A-Z]", v)) and DNI[int(v[:8]) % 23] == v[8]


def v_nie(v):
    return bool(re.fullmatch(r"[XYZ]\d{7}[A-Z]", v)) and DNI[int(str("XYZ".index(v[0])) + v[1:8]) % 23] == v[8]


ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]


def v_cf(v):
    if not re.fullmatch(r"[A-Z]{6}\d{2}[ABCDEHLMPRST]\d{2}[A-Z]\d{3}[A-Z]", v):
        return False
    day = int(v[9:11])
    if not (1 <= day <= 31 or 41 <= day <= 71):
        return False
    t = 0
    for i, c in enumerate(v[:15]):
        val = int(c) if c.isdigit() else ord(c) - 65
        t += ODD[val] if i % 2 == 0 else val
    return chr(65 + t % 26) == v[15]


def v_nir(v):
    n = v.replace(" ", "")
    if not re.fullmatch(r"[12]\d{14}", n):
        return False
    return 97 - int(n[:13]) % 97 == int(n[13:]) and 1 <= int(n[3:5]) <= 12


def v_bsn(v):
    if not re.fullmatch(r"\d{9}", v):
        return False
    s = sum(int(c) * (9 - i) for i, c in enumerate(v[:8])) - int(v[8])
    return s % 11 == 0 and v != "000000000"


def v_be(v):
    n = only_digits(v)
    if not re.fullmatch(r"\d{11}", n):
        return False
    c = int(n[9:])
    return 97 - int(n[:9]) % 97 == c or 97 - int("2" + n[:9]) % 97 == c


def v_pesel(v):
    if not re.fullmatch(r"\d{11}", v):
        return False
    w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]
    return (10 - sum(int(a) * b for a, b in zip(v, w)) % 10) % 10 == int(v[10])


def v_se(v):
    m = re.fullmatch(r"(\d{6})[-+](\d{4})", v)
    if not m:
        return False
    n = m.group(1) + m.group(2)
    datetime.date(1900 + int(n[:2]), int(n[2:4]), int(n[4:6]))
    return luhn_ok(n)


def v_hetu(v):
    m = re.fullmatch(r"(\d{6})[-+A](\d{3})([0-9A-Y])", v)
    return bool(m) and "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(m.group(1) + m.group(2)) % 31] == m.group(3)


def v_nif(v):
    if not re.fullmatch(r"[1-35689]\d{8}", v):
        return False
    r = sum(int(c) * (9 - i) for i, c in enumerate(v[:8])) % 11
    return (0 if r < 2 else 11 - r) == int(v[8])


def v_detax(v):
    if not re.fullmatch(r"[1-9]\d{10}", v):
        return False
    counts = collections.Counter(v[:10])
    multi = [d for d, c in counts.items() if c > 1]
    if len(multi) != 1 or counts[multi[0]] not in (2, 3):
        return False
    p = 10
    for c in v[:10]:
        s = (int(c) + p) % 10 or 10
        p = s * 2 % 11
    chk = 11 - p
    return (0 if chk == 10 else chk) == int(v[10])


def v_ppsn(v):
    m = re.fullmatch(r"(\d{7})([A-W])([A-IW]?)", v)
    if not m:
        return False
    s = sum(int(c) * (8 - i) for i, c in enumerate(m.group(1)))
    if m.group(3) and m.group(3) != "W":
        s += (ord(m.group(3)) - 64) * 9
    r = s % 23
    return ("W" if r == 0 else chr(64 + r)) == m.group(2)


def v_sin(v):
    n = only_digits(v)
    return bool(re.fullmatch(r"[1-7]\d{8}", n)) and luhn_ok(n)


def v_tfn(v):
    n = only_digits(v)
    w = [1, 4, 3, 7, 5, 8, 6, 9, 10]
    return bool(re.fullmatch(r"\d{9}", n)) and sum(int(a) * b for a, b in zip(n, w)) % 11 == 0


VD = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
      [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
      [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
VP = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
      [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
      [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]


def verhoeff_ok(n: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(n)):
        c = VD[c][VP[i % 8][int(ch)]]
    return c == 0


def v_aadhaar(v):
    n = only_digits(v)
    return bool(re.fullmatch(r"[2-9]\d{11}", n)) and verhoeff_ok(n)


def v_cpf(v):
    n = only_digits(v)
    if not re.fullmatch(r"\d{11}", n) or len(set(n)) == 1:
        return False
    d = [int(c) for c in n]
    for k in (9, 10):
        s = sum(d[i] * (k + 1 - i) for i in range(k))
        if (s * 10 % 11) % 10 != d[k]:
            return False
    return True


def v_vin(v):
    if not re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", v):
        return False
    tr = {**{str(i): i for i in range(10)}, **dict(zip("ABCDEFGH", range(1, 9))),
          **dict(zip("JKLMN", range(1, 6))), "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10)))}
    w = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
    s = sum(tr[c] * x for c, x in zip(v, w)) % 11
    return ("X" if s == 10 else str(s)) == v[8]


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def v_btc(v):
    import hashlib
    if v.startswith("bc1"):
        data = [BECH.find(c) for c in v[3:]]
        if -1 in data:
            return False
        gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
        chk = 1
        for x in [ord(c) >> 5 for c in "bc"] + [0] + [ord(c) & 31 for c in "bc"] + data:
            b = chk >> 25
            chk = (chk & 0x1FFFFFF) << 5 ^ x
            for i in range(5):
                chk ^= gen[i] if (b >> i) & 1 else 0
        return chk in (1, 0x2BC830A3)
    if not re.fullmatch(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}", v):
        return False
    n = 0
    for c in v:
        n = n * 58 + B58.index(c)
    raw = n.to_bytes(25, "big")
    return hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] == raw[21:]


def v_eth(v):
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", v):
        return False
    a = v[2:]
    if a == a.lower() or a == a.upper():
        return True
    h = keccak256(a.lower().encode()).hex()
    return all((c.upper() if int(h[i], 16) >= 8 else c.lower()) == c for i, c in enumerate(a) if c.isalpha())


def v_ipv4(v):
    try:
        ip = ipaddress.IPv4Address(v)
    except ValueError:
        return False
    doc = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
    return ip.is_private or any(ip in n for n in doc)


def v_ipv6(v):
    try:
        return ipaddress.IPv6Address(v) in ipaddress.ip_network("2001:db8::/32")
    except ValueError:
        return False


def v_mac(v):
    return bool(re.fullmatch(r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}", v))


def v_date(v):
    for fmt in ("%d %B %Y", "%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y"):
        try:
            d = datetime.datetime.strptime(v, fmt).date()
            return 1930 <= d.year <= 2010
        except ValueError:
            continue
    return False


def v_phone(v):
    d = re.sub(r"\D", "", v)
    if not re.fullmatch(r"[+()\d][\d ()\-]{6,20}\d", v):
        return False
    if v.startswith("(") or v.startswith("+1 "):  # NANP
        n = d[-10:]
        ok = len(n) == 10 and n[0] in "23456789" and n[1:3] != "11" and n[3] in "23456789" and n[4:6] != "11"
        return ok and not (n[3:6] == "555" and n[6:8] == "01")
    return 7 <= len(d) <= 15


def v_pw(v):
    return bool(re.fullmatch(r"[A-Za-z0-9\-_!%*.]{16,24}", v)) and len(set(v)) > 8


def v_jwt(v):
    parts = v.split(".")
    if len(parts) != 3 or len(parts[2]) != 43:
        return False
    try:
        hdr = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return False
    return hdr.get("alg") == "HS256" and hdr.get("typ") == "JWT"


def v_pem(v):
    lines = v.split("\n")
    if lines[0] != "-----BEGIN RSA PRIVATE KEY-----" or lines[-1] != "-----END RSA PRIVATE KEY-----":
        return False
    body = lines[1:-1]
    return (len(v.encode()) <= 1600 and all(len(x) == 64 for x in body[:-1]) and 0 < len(body[-1]) <= 64
            and all(re.fullmatch(r"[A-Za-z0-9+/=]+", x) for x in body))


def v_conn(v):
    u = urlsplit(v)
    return u.scheme in ("postgres", "postgresql", "mysql", "mongodb+srv", "redis", "amqp") and bool(u.password) \
        and bool(u.hostname) and v_pw(u.password) is not None


def v_urlcred(v):
    u = urlsplit(v)
    return u.scheme == "https" and bool(u.username) and bool(u.password) and len(u.password) >= 16


def rx(p):
    return lambda v: bool(re.fullmatch(p, v))


VALIDATORS = {
    "EMAIL_ADDRESS": rx(r"[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}"),
    "PHONE_NUMBER": v_phone, "CREDIT_CARD_NUMBER": v_card, "IBAN_CODE": v_iban, "IPV4_ADDRESS": v_ipv4,
    "IPV6_ADDRESS": v_ipv6, "MAC_ADDRESS": v_mac, "US_SSN": v_ssn, "US_ITIN": v_itin,
    "US_PASSPORT": rx(r"[1-9]\d{8}"), "US_DRIVER_LICENSE": rx(r"\d{8}"), "US_BANK_ROUTING": v_aba,
    "US_BANK_ACCOUNT": rx(r"[1-9]\d{7,16}"), "US_EIN": v_ein, "UK_NINO": v_nino, "UK_NHS_NUMBER": v_nhs,
    "UK_POSTCODE": v_postcode, "UK_PASSPORT": rx(r"\d{9}"), "UK_SORT_CODE": v_sort, "ES_DNI": v_dni,
    "ES_NIE": v_nie, "IT_FISCAL_CODE": v_cf, "FR_NIR": v_nir, "NL_BSN": v_bsn, "BE_NATIONAL_NUMBER": v_be,
    "PL_PESEL": v_pesel, "SE_PERSONNUMMER": v_se, "FI_HETU": v_hetu, "PT_NIF": v_nif, "DE_TAX_ID": v_detax,
    "IE_PPSN": v_ppsn, "CA_SIN": v_sin, "AU_TFN": v_tfn, "IN_AADHAAR": v_aadhaar, "BR_CPF": v_cpf,
    "VIN": v_vin, "SWIFT_BIC": rx(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?"), "DATE_OF_BIRTH": v_date,
    "BTC_ADDRESS": v_btc, "ETH_ADDRESS": v_eth, "URL_WITH_CREDENTIALS": v_urlcred,
    "AWS_ACCESS_KEY_ID": rx(r"AKIA[A-Z2-7]{16}"), "AWS_SECRET_ACCESS_KEY": rx(r"[A-Za-z0-9/+]{40}"),
    "GITHUB_TOKEN": rx(r"ghp_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}"),
    "GITLAB_TOKEN": rx(r"glpat-[A-Za-z0-9_-]{20}"),
    "SLACK_TOKEN": rx(r"xoxb-\d{12}-\d{13}-[A-Za-z0-9]{24}"),
    "SLACK_WEBHOOK_URL": rx(r"https://hooks\.slack\.com/services/T[A-Z0-9]{8,10}/B[A-Z0-9]{8,11}/[A-Za-z0-9]{24}"),
    "STRIPE_API_KEY": rx(r"sk_live_[A-Za-z0-9]{24,99}"), "OPENAI_API_KEY": rx(r"sk-proj-[A-Za-z0-9_-]{100,200}"),
    "ANTHROPIC_API_KEY": rx(r"sk-ant-api03-[A-Za-z0-9_-]{93}AA"), "HUGGINGFACE_TOKEN": rx(r"hf_[A-Za-z]{34}"),
    "GCP_API_KEY": rx(r"AIza[A-Za-z0-9_-]{35}"), "AZURE_STORAGE_KEY": rx(r"[A-Za-z0-9+/]{86}=="),
    "TWILIO_API_KEY": rx(r"SK[0-9a-f]{32}"), "SENDGRID_API_KEY": rx(r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    "NPM_TOKEN": rx(r"npm_[A-Za-z0-9]{36}"), "PYPI_TOKEN": rx(r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,100}"),
    "JWT": v_jwt, "PRIVATE_KEY": v_pem, "CONNECTION_STRING": v_conn, "PASSWORD": v_pw,
    "SLUICE_API_KEY": rx(r"sluice_[A-Za-z0-9]{32}"), "DATADOG_API_KEY": rx(r"[0-9a-f]{32}"),
}
KEYWORD_ENTITIES = {"PERSON": "people.toml", "CUSTOMER_NAME": "customers.toml", "PROJECT_CODENAME": "codenames.toml"}

# words that must be near every occurrence (detectors use them as required context)
CONTEXT = {
    "US_SSN": ["ssn", "social security"], "US_ITIN": ["itin"], "US_PASSPORT": ["passport"],
    "US_DRIVER_LICENSE": ["driver"], "US_BANK_ROUTING": ["routing"], "US_BANK_ACCOUNT": ["account number"],
    "US_EIN": ["ein"], "UK_NHS_NUMBER": ["nhs"], "UK_PASSPORT": ["passport"], "UK_SORT_CODE": ["sort code"],
    "NL_BSN": ["bsn"], "DE_TAX_ID": ["steuer-id", "tax id"], "SWIFT_BIC": ["bic", "swift"],
    "DATE_OF_BIRTH": ["date of birth", "dob", "born"], "DATADOG_API_KEY": ["datadog", "dd_api_key"],
    "AWS_SECRET_ACCESS_KEY": ["aws_secret_access_key"], "PASSWORD": ["password"],
}
WINDOW = 48

# pull the embedded secret out of a decoded base64 run
INNER = {
    "AWS_SECRET_ACCESS_KEY": r"aws_secret_access_key = ([A-Za-z0-9/+]{40})",
    "GITHUB_TOKEN": r"(ghp_[A-Za-z0-9]{36})", "STRIPE_API_KEY": r"(sk_live_[A-Za-z0-9]{24,99})",
    "CONNECTION_STRING": r"(\S+://\S+)", "GITLAB_TOKEN": r"(glpat-[A-Za-z0-9_-]{20})",
    "SLACK_TOKEN": r"(xoxb-[0-9A-Za-z-]+)",
}


def normalise(s: str) -> str:
    s = "".join(c for c in s if unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFKC", s)


def self_test() -> None:
    """Validators against published examples (so a validator bug cannot hide a value bug)."""
    good = [("CREDIT_CARD_NUMBER", "4111 1111 1111 1111"), ("IBAN_CODE", "GB82WEST12345698765432"),
            ("IBAN_CODE", "DE89 3704 0044 0532 0130 00"), ("IBAN_CODE", "NL91ABNA0417164300"),
            ("IBAN_CODE", "FR1420041010050500013M02606"), ("IBAN_CODE", "ES9121000418450200051332"),
            ("US_BANK_ROUTING", "011000015"), ("UK_NHS_NUMBER", "943 476 5919"), ("ES_DNI", "12345678Z"),
            ("ES_NIE", "X1234567L"), ("IT_FISCAL_CODE", "RSSMRA85T10A562S"), ("NL_BSN", "111222333"),
            ("PL_PESEL", "44051401359"), ("SE_PERSONNUMMER", "811218-9876"), ("FI_HETU", "131052-308T"),
            ("PT_NIF", "123456789"), ("DE_TAX_ID", "86095742719"), ("IE_PPSN", "1234567T"),
            ("IE_PPSN", "1234567TW"), ("AU_TFN", "123 456 782"),
            ("BR_CPF", "111.444.777-35"), ("VIN", "1M8GDM9AXKP042788"), ("IN_AADHAAR", "2341 2341 2346"),
            ("BTC_ADDRESS", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
            ("BTC_ADDRESS", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
            ("ETH_ADDRESS", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"), ("UK_NINO", "AB 12 34 56 C")]
    bad = [("CREDIT_CARD_NUMBER", "4111 1111 1111 1112"), ("IBAN_CODE", "GB82WEST12345698765433"),
           ("UK_NHS_NUMBER", "943 476 5918"), ("DE_TAX_ID", "86095742718"), ("DE_TAX_ID", "12345678903"),
           ("ETH_ADDRESS", "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed"), ("IN_AADHAAR", "2341 2341 2345"),
           ("US_SSN", "666-12-3456"), ("BTC_ADDRESS", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb")]
    if keccak256(b"").hex() != "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470":
        err("self-test: keccak256('') mismatch")
    for ent, v in good:
        if not VALIDATORS[ent](v):
            err(f"self-test: validator {ent} rejects known-good {v!r}")
    for ent, v in bad:
        if VALIDATORS[ent](v):
            err(f"self-test: validator {ent} accepts known-bad {v!r}")


def load_keywords() -> dict[str, set[str]]:
    out = {}
    for ent, f in KEYWORD_ENTITIES.items():
        path = os.path.join(REPO, "policies", "custom", f)
        try:
            d = tomllib.load(open(path, "rb"))
            out[ent] = {k.lower() for det in d.get("detector", []) for k in det.get("keywords", [])}
        except FileNotFoundError:
            err(f"missing keyword policy {path}")
            out[ent] = set()
    return out


# value-like patterns that must be covered by a manifest entry of the same file
SCAN = [
    ("email", r"[A-Za-z0-9._%+\-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}"),
    ("ipv4", r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"),
    ("ipv6", r"2001:db8[0-9a-fA-F:]*"),
    ("mac", r"\b[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}\b"),
    ("token", r"(?:AKIA|ghp_|github_pat_|glpat-|xox[bpa]-|hooks\.slack\.com/services/|sk_live_|sk-proj-|"
              r"sk-ant-|hf_|AIza|SG\.|npm_|pypi-|eyJ|-----BEGIN|sluice_)[A-Za-z0-9_\-./+=]{12,}"),
    ("twilio", r"\bSK[0-9a-f]{32}\b"),
    ("hex32", r"\b[0-9a-f]{32}\b"),
    ("url-cred", r"[a-z+]{3,12}://[^\s/:@]+:[^\s/@]+@[^\s]+"),
    ("iban", r"\b(?:DE|GB|ES|FR|NL)\d{2}(?: ?[A-Z0-9]{4}){3,6}(?: ?[A-Z0-9]{1,3})?\b"),
    ("digits", r"(?<![\w.])\+?\(?\d[\d ()\-./]{6,22}\d(?![\w])"),
    ("b64", r"\b[A-Za-z0-9+/]{36,}={0,2}"),
]


def covered(match: str, values: list[str]) -> bool:
    m = match.strip()
    return any(m in v or v in m for v in values)


def scan_unlisted(rel: str, text: str, values: list[str]) -> None:
    norm_vals = values + [normalise(v) for v in values]
    view = normalise(text)
    for name, pat in SCAN:
        for m in re.finditer(pat, view):
            s = m.group(0)
            if covered(s, norm_vals):
                continue
            if name == "digits":
                d = re.sub(r"\D", "", s)
                if len(d) < 8:
                    continue
                # ISO dates (optionally followed by an hour or a version) and invoice-style ids
                rest = re.sub(r"^\d{4}-\d{2}-\d{2}", "", s.strip())
                if len(re.sub(r"\D", "", rest)) < 6 or re.fullmatch(r"20\d{2}-\d{4}", s.strip()):
                    continue
                WARNINGS.append(f"{rel}: unlisted digit run {s!r}")
                continue
            if name == "b64" and (s.isalpha() or "/" in s and s.count("/") > 2):
                continue
            err(f"{rel}: unlisted value-like {name} {s!r}")


def main() -> int:
    self_test()
    kw = load_keywords()
    manifest = tomllib.load(open(os.path.join(CORPUS, "MANIFEST.toml"), "rb"))
    if manifest.get("version") != 1:
        err("MANIFEST version must be 1")
    planted = manifest.get("planted", [])
    by_file: dict[str, list[str]] = collections.defaultdict(list)
    seen = set()
    texts: dict[str, str] = {}
    counts = collections.Counter()
    for i, e in enumerate(planted):
        f, ent, v = e.get("file"), e.get("entity"), e.get("value")
        where = f"entry {i} ({f}, {ent}, {v[:40]!r})"
        if (f, v) in seen:
            err(f"{where}: duplicate entry")
        seen.add((f, v))
        path = os.path.join(CORPUS, f)
        if f not in texts:
            if not os.path.isfile(path):
                err(f"{where}: file missing")
                continue
            texts[f] = open(path, encoding="utf-8").read()
        text = texts[f]
        if v not in text:
            err(f"{where}: value not found verbatim in file")
            continue
        by_file[f].append(v)
        counts[ent] += 1
        if ent in KEYWORD_ENTITIES:
            if v.lower() not in kw[ent]:
                err(f"{where}: not in policies/custom/{KEYWORD_ENTITIES[ent]}")
            continue
        if ent not in VALIDATORS:
            err(f"{where}: unknown entity")
            continue
        check = v
        if e.get("encoding") == "base64":
            try:
                decoded = base64.b64decode(v, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                err(f"{where}: not valid base64")
                continue
            m = re.search(INNER[ent], decoded)
            if not m:
                err(f"{where}: decoded text has no {ent}: {decoded!r}")
                continue
            check = m.group(1)
        if e.get("obfuscated"):
            check = normalise(v)
            if check == v:
                err(f"{where}: marked obfuscated but contains no invisible/full-width characters")
        elif any(ord(c) > 127 for c in v):
            err(f"{where}: non-ASCII value not marked obfuscated")
        try:
            ok = VALIDATORS[ent](check)
        except ValueError:
            ok = False
        if not ok:
            err(f"{where}: fails {ent} format/checksum validation")
        words = CONTEXT.get(ent) if not e.get("encoding") else None
        if words:
            for m in re.finditer(re.escape(v), text):
                ctx = text[max(0, m.start() - WINDOW):m.end() + WINDOW].lower()
                if not any(w in ctx for w in words):
                    err(f"{where}: no context word {words} within {WINDOW} chars of an occurrence")
    docs = []
    for dp, dn, fn in os.walk(CORPUS):
        dn[:] = [d for d in dn if d != "tools"]
        for x in fn:
            if x.endswith((".md", ".txt", ".html")):
                docs.append(os.path.relpath(os.path.join(dp, x), CORPUS))
    for rel in sorted(docs):
        text = texts.get(rel) or open(os.path.join(CORPUS, rel), encoding="utf-8").read()
        scan_unlisted(rel, text, by_file.get(rel, []))
        # keyword values listed for a file: every occurrence is caught by the custom pack anyway
    print(f"{len(planted)} planted entries in {len(texts)} files; {len(docs)} documents")
    for ent, n in sorted(counts.items(), key=lambda x: (-x[1], x[0])):
        print(f"  {ent:24s} {n}")
    for w in WARNINGS:
        print("WARN", w)
    for e in ERRORS:
        print("ERROR", e)
    print("OK" if not ERRORS else f"{len(ERRORS)} error(s)")
    return 1 if ERRORS else 0


if __name__ == "__main__":
    sys.exit(main())
