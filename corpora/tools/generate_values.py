#!/usr/bin/env python3
"""Deterministic generator for the FAKE values planted in the Sluice sample corpus.

Every value is invented: people, companies, account numbers, national ids, keys and tokens
are produced from a fixed-seed PRNG (plus fixed fictional names), with the correct check
digits wherever the real-world format has one, so that checksum validators accept them.
None of them belongs to a real person, company or service account.

Usage:
    python3 corpora/tools/generate_values.py            # key<TAB>entity<TAB>value lines
    python3 corpora/tools/generate_values.py --json     # full table as JSON

Pure standard library. The documents under corpora/ were written with this output; the
planted values are listed (per file) in corpora/MANIFEST.toml and verified by
corpora/tools/check_manifest.py. A few values in the table (spare staff e-mails and phone
numbers, one password) were generated but not planted; only MANIFEST.toml is authoritative.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import string
import sys

SEED = 20260914
rng = random.Random(SEED)

UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
DIGITS = string.digits
ALNUM = UPPER + LOWER + DIGITS
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"


def rand(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def digits(n: int, first: str = DIGITS) -> str:
    return rng.choice(first) + rand(DIGITS, n - 1)


# --------------------------------------------------------------------------- checksums
def luhn_check_digit(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:  # these positions get doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def card(kind: str, fmt: str) -> str:
    if kind == "visa":
        body = "4" + rand(DIGITS, 14)
    elif kind == "mc":
        body = rng.choice(["51", "52", "53", "54", "55"]) + rand(DIGITS, 13)
    elif kind == "mc2":
        body = str(rng.randint(2221, 2720)) + rand(DIGITS, 11)
    elif kind == "amex":
        body = rng.choice(["34", "37"]) + rand(DIGITS, 12)
    else:
        raise ValueError(kind)
    num = body + luhn_check_digit(body)
    if kind == "amex":
        groups = [num[:4], num[4:10], num[10:]]
    else:
        groups = [num[i:i + 4] for i in range(0, 16, 4)]
    return {"spaces": " ".join(groups), "dashes": "-".join(groups), "plain": num}[fmt]


def iban_from_bban(cc: str, bban: str) -> str:
    rearranged = bban + cc + "00"
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    check = 98 - int(numeric) % 97
    return f"{cc}{check:02d}{bban}"


def fr_rib_key(bank: str, branch: str, account: str) -> str:
    conv = {c: str((i % 9) + 1) for i, c in enumerate(UPPER)}
    conv.update({"S": "2", "T": "3", "U": "4", "V": "5", "W": "6", "X": "7", "Y": "8", "Z": "9"})
    acc = "".join(conv.get(c, c) for c in account)
    key = 97 - ((89 * int(bank) + 15 * int(branch) + 3 * int(acc)) % 97)
    return f"{key:02d}"


def iban(cc: str, spaced: bool, bank: str | None = None) -> str:
    if cc == "DE":
        bban = (bank or digits(8, "1234567")) + rand(DIGITS, 10)
    elif cc == "GB":
        bban = (bank or "NWAB") + rand(DIGITS, 6) + rand(DIGITS, 8)
    elif cc == "ES":
        b, br, acc = digits(4, "0123"), rand(DIGITS, 4), rand(DIGITS, 10)
        bban = b + br + "00" + acc  # control digits simplified; IBAN mod-97 is exact
        # real Spanish DC digits:
        w = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6]
        def dc(s: str) -> str:
            r = 11 - sum(int(x) * y for x, y in zip(s.zfill(10), w)) % 11
            return str({10: 1, 11: 0}.get(r, r))
        bban = b + br + dc("00" + b + br) + dc(acc) + acc
    elif cc == "FR":
        b, br, acc = digits(5, "123"), rand(DIGITS, 5), rand(DIGITS, 11)
        bban = b + br + acc + fr_rib_key(b, br, acc)
    elif cc == "NL":
        bank4 = bank or "ABNA"
        while True:  # old Dutch accounts are 11-proof
            acc = digits(10, "0123456")
            if sum(int(d) * (10 - i) for i, d in enumerate(acc)) % 11 == 0:
                break
        bban = bank4 + acc
    else:
        raise ValueError(cc)
    v = iban_from_bban(cc, bban)
    return " ".join(v[i:i + 4] for i in range(0, len(v), 4)) if spaced else v


def gb_iban_with_sort(bank: str) -> tuple[str, str]:
    sort = rand(DIGITS, 6)
    acc = rand(DIGITS, 8)
    v = iban_from_bban("GB", bank + sort + acc)
    return " ".join(v[i:i + 4] for i in range(0, len(v), 4)), f"{sort[:2]}-{sort[2:4]}-{sort[4:]}"


def aba_routing() -> str:
    while True:
        prefix = rng.choice(["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12",
                             "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32"])
        body = prefix + rand(DIGITS, 6)
        d = [int(c) for c in body]
        s = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5])
        check = (10 - s % 10) % 10
        return body + str(check)


def us_ssn() -> str:
    while True:
        area = rng.randint(101, 665)
        if area != 666:
            break
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def us_itin() -> str:
    group = rng.choice(list(range(70, 89)) + [90, 91, 92] + list(range(94, 100)))
    return f"9{rng.randint(0, 99):02d}-{group:02d}-{rng.randint(1, 9999):04d}"


def us_ein() -> str:
    return f"{rng.choice([27, 46, 47, 84, 82, 88])}-{rand(DIGITS, 7)}"


def uk_nino(spaced: bool) -> str:
    p = rng.choice(["AB", "CE", "JH", "KR", "PW", "SN", "TE", "WL", "HJ", "ZR"])
    d = rand(DIGITS, 6)
    s = rng.choice("ABCD")
    return f"{p} {d[:2]} {d[2:4]} {d[4:]} {s}" if spaced else f"{p}{d}{s}"


def uk_nhs() -> str:
    while True:
        d = digits(9, "4")
        r = 11 - sum(int(c) * (10 - i) for i, c in enumerate(d)) % 11
        if r == 10:
            continue
        n = d + str(0 if r == 11 else r)
        return f"{n[:3]} {n[3:6]} {n[6:]}"


DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_dni() -> str:
    n = digits(8, "1234567")
    return n + DNI_LETTERS[int(n) % 23]


def es_nie() -> str:
    p = rng.choice("XYZ")
    n = rand(DIGITS, 7)
    return p + n + DNI_LETTERS[int(str("XYZ".index(p)) + n) % 23]


CF_ODD = dict(zip(DIGITS, [1, 0, 5, 7, 9, 13, 15, 17, 19, 21]))
CF_ODD.update(dict(zip(UPPER, [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12,
                               14, 16, 10, 22, 25, 24, 23])))


def it_codice_fiscale(surname: str, name: str, y: int, m: int, d: int, female: bool, belfiore: str) -> str:
    def split(s: str) -> tuple[str, str]:
        s = "".join(c for c in s.upper() if c in UPPER)
        return "".join(c for c in s if c not in "AEIOU"), "".join(c for c in s if c in "AEIOU")
    c, v = split(surname)
    sur = (c + v + "XXX")[:3]
    c, v = split(name)
    nm = (c[0] + c[2] + c[3]) if len(c) >= 4 else (c + v + "XXX")[:3]
    code = f"{sur}{nm}{y % 100:02d}{'ABCDEHLMPRST'[m - 1]}{d + (40 if female else 0):02d}{belfiore}"
    total = 0
    for i, ch in enumerate(code):
        total += CF_ODD[ch] if i % 2 == 0 else (int(ch) if ch.isdigit() else ord(ch) - 65)
    return code + chr(65 + total % 26)


def fr_nir(female: bool, y: int, m: int, dept: str) -> str:
    body = f"{2 if female else 1}{y % 100:02d}{m:02d}{dept}{rand(DIGITS, 3)}{digits(3, '0')}"
    key = 97 - int(body) % 97
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} {key:02d}"


def nl_bsn() -> str:
    while True:
        d = digits(8, "1236")
        s = sum(int(c) * (9 - i) for i, c in enumerate(d))
        last = s % 11
        if last < 10:
            return d + str(last)


def be_national_number(y: int, m: int, d: int, female: bool) -> str:
    serial = rng.randrange(2 if female else 1, 998, 2)
    body = f"{y % 100:02d}{m:02d}{d:02d}{serial:03d}"
    check = 97 - int(body) % 97
    return f"{body[0:2]}.{body[2:4]}.{body[4:6]}-{body[6:9]}.{check:02d}"


def pl_pesel(y: int, m: int, d: int, female: bool) -> str:
    serial = rand(DIGITS, 3) + str(rng.choice("02468" if female else "13579"))
    body = f"{y % 100:02d}{m:02d}{d:02d}{serial}"
    w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]
    s = sum(int(c) * x for c, x in zip(body, w))
    return body + str((10 - s % 10) % 10)


def se_personnummer(y: int, m: int, d: int, female: bool) -> str:
    nnn = rand(DIGITS, 2) + rng.choice("02468" if female else "13579")
    body = f"{y % 100:02d}{m:02d}{d:02d}{nnn}"
    return f"{body[:6]}-{nnn}{luhn_check_digit(body)}"


def fi_hetu(y: int, m: int, d: int, female: bool) -> str:
    nnn = f"{rng.randrange(2 if female else 3, 899, 2):03d}"
    body = f"{d:02d}{m:02d}{y % 100:02d}{nnn}"
    return f"{body[:6]}-{nnn}" + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(body) % 31]


def pt_nif() -> str:
    while True:
        d = digits(8, "12")
        r = sum(int(c) * (9 - i) for i, c in enumerate(d)) % 11
        return d + str(0 if r < 2 else 11 - r)


def de_tax_id() -> str:
    while True:
        ds = rng.sample(DIGITS, 9)
        ds.append(rng.choice(ds))
        rng.shuffle(ds)
        if ds[0] == "0":
            continue
        body = "".join(ds)
        product = 10
        for c in body:
            s = (int(c) + product) % 10
            if s == 0:
                s = 10
            product = (s * 2) % 11
        check = 11 - product
        if check == 10:
            check = 0
        return body + str(check)


def ie_ppsn(new_format: bool) -> str:
    d = digits(7, "123456789")
    s = sum(int(c) * (8 - i) for i, c in enumerate(d)) + (9 if new_format else 0)
    r = s % 23
    return d + ("W" if r == 0 else chr(64 + r)) + ("A" if new_format else "")


def ca_sin() -> str:
    body = digits(8, "1234567")
    n = body + luhn_check_digit(body)
    return f"{n[:3]}-{n[3:6]}-{n[6:]}"


def au_tfn() -> str:
    w = [1, 4, 3, 7, 5, 8, 6, 9, 10]
    while True:
        d = digits(8, "1234567")
        s = sum(int(c) * x for c, x in zip(d, w))
        last = (-s * 10) % 11
        if last < 10:
            n = d + str(last)
            assert sum(int(c) * x for c, x in zip(n, w)) % 11 == 0
            return f"{n[:3]} {n[3:6]} {n[6:]}"


VERHOEFF_D = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
              [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
              [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
              [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
VERHOEFF_P = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
              [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
              [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]
VERHOEFF_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def verhoeff_check_digit(partial: str) -> str:
    c = 0
    for i, ch in enumerate(reversed(partial)):
        c = VERHOEFF_D[c][VERHOEFF_P[(i + 1) % 8][int(ch)]]
    return str(VERHOEFF_INV[c])


def in_aadhaar() -> str:
    body = digits(11, "23456789")
    n = body + verhoeff_check_digit(body)
    return f"{n[:4]} {n[4:8]} {n[8:]}"


def br_cpf() -> str:
    d = [int(c) for c in digits(9, "123456789")]
    for n in (10, 11):
        s = sum(x * (n - i) for i, x in enumerate(d))
        d.append((s * 10 % 11) % 10)
    n = "".join(map(str, d))
    return f"{n[:3]}.{n[3:6]}.{n[6:9]}-{n[9:]}"


VIN_TRANS = {**{str(i): i for i in range(10)},
             **dict(zip("ABCDEFGH", range(1, 9))), **dict(zip("JKLMN", range(1, 6))), "P": 7, "R": 9,
             **dict(zip("STUVWXYZ", range(2, 10)))}
VIN_W = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def vin(wmi: str, year: str) -> str:
    v = wmi + rand(VIN_CHARS, 5) + "0" + year + rng.choice("ABCDEFGHJKLMN") + rand(DIGITS, 6)
    s = sum(VIN_TRANS[c] * w for c, w in zip(v, VIN_W)) % 11
    return v[:8] + ("X" if s == 10 else str(s)) + v[9:]


# --------------------------------------------------------------------------- crypto addresses
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_polymod(values: list[int]) -> int:
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (b >> i) & 1 else 0
    return chk


def bech32_address(hrp: str, witver: int, prog: bytes) -> str:
    acc, bits, data = 0, 0, [witver]
    for b in prog:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    hrp_exp = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = bech32_polymod(hrp_exp + data + [0] * 6) ^ 1  # bech32 (witness v0)
    data += [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32[d] for d in data)


def _rc(t: int) -> int:
    if t % 255 == 0:
        return 1
    r = 1
    for _ in range(t % 255):
        r <<= 1
        if r & 0x100:
            r ^= 0x171
    return r & 1


KECCAK_RC = [sum(_rc(j + 7 * i) << (2 ** j - 1) for j in range(7)) for i in range(24)]
KECCAK_ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56],
              [27, 20, 39, 8, 14]]
M64 = (1 << 64) - 1


def _rol(x: int, n: int) -> int:
    return ((x << n) | (x >> (64 - n))) & M64 if n else x


def keccak_f(a: list[list[int]]) -> list[list[int]]:
    for rnd in range(24):
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rol(a[x][y], KECCAK_ROT[x][y])
        a = [[b[x][y] ^ ((~b[(x + 1) % 5][y]) & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
        a[0][0] ^= KECCAK_RC[rnd]
    return a


def keccak256(data: bytes) -> bytes:
    """Original Keccak-256 (0x01 padding) as used by Ethereum; not NIST SHA3-256."""
    rate = 136
    msg = bytearray(data) + b"\x01"
    msg += b"\0" * (-len(msg) % rate)
    msg[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        block = msg[off:off + rate]
        for i in range(rate // 8):
            x, y = i % 5, i // 5
            a[x][y] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        a = keccak_f(a)
    out = b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(4))
    return out


def eip55(addr_hex: str) -> str:
    h = keccak256(addr_hex.lower().encode()).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(h[i], 16) >= 8 else c
                          for i, c in enumerate(addr_hex.lower()))


# --------------------------------------------------------------------------- secrets
def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(payload: dict) -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    key = bytes(rng.getrandbits(8) for _ in range(32))
    sig = b64url(hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest())
    return f"{header}.{body}.{sig}"


def pem_rsa() -> str:
    body = "MIIEowIBAAKCAQEA" + rand(B64, 21 * 64 - 16) + rand(B64, 38) + "=="
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----"


def password(n: int, symbols: str = "-_!%*.") -> str:
    while True:
        p = rng.choice(LOWER + UPPER) + rand(ALNUM + symbols, n - 1)
        if (any(c.islower() for c in p) and any(c.isupper() for c in p) and any(c.isdigit() for c in p)
                and (not symbols or any(c in symbols for c in p))):
            return p


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def fullwidth(s: str) -> str:
    return "".join(chr(ord(c) - 0x30 + 0xFF10) if c.isdigit() else ("\uff0b" if c == "+" else c) for c in s)


# --------------------------------------------------------------------------- the table
VALUES: dict[str, dict] = {}


def add(key: str, entity: str, value: str, **extra) -> str:
    assert key not in VALUES, key
    VALUES[key] = {"entity": entity, "value": value, **extra}
    return value


def build() -> dict[str, dict]:
    D = "northwindanalytics.io"
    # --- e-mail addresses (staff, customers, candidates, vendors)
    for k, local in [("marta", "marta.kowalczyk"), ("jonas", "jonas.weber"), ("priya", "priya.raman"),
                     ("daniel", "daniel.okafor"), ("lucia", "lucia.fernandez"), ("ethan", "ethan.caldwell"),
                     ("rachel", "rachel.nguyen"), ("siobhan", "siobhan.murphy"), ("pieter", "pieter.devries"),
                     ("claire", "claire.dubois"), ("tomas", "tomas.duarte"), ("chloe", "chloe.whitfield"),
                     ("noah", "noah.brennan"), ("hannah", "hannah.schulz"), ("marcus", "marcus.bell"),
                     ("people", "people-team"), ("security", "security"), ("payroll", "payroll"),
                     ("expenses", "expenses"), ("legal", "legal-notices"), ("ap", "accounts-payable")]:
        add(f"email.{k}", "EMAIL_ADDRESS", f"{local}@{D}")
    for k, v in [("greta", "greta.albrecht@web.de"), ("samuel", "samuel.ortiz82@gmail.com"),
                 ("fiona", "fiona.macleod@brightwater-logistics.co.uk"), ("wojciech", "w.nowak@halvorsen-maritime.no"),
                 ("isabel", "isabel.carvalho@sapo.pt"), ("kevin", "kevin.odonnell@eircom.net"),
                 ("bruno", "bruno.lefevre@orange.fr"), ("henrik", "henrik.dahl@tidewell-energy.se"),
                 ("emily", "emily.foster@cobaltridgehealth.com"), ("laura", "laura.jansen@ziggo.nl"),
                 ("nadia", "nadia.haddad@protonmail.com"), ("tom", "tom.whitaker.dev@gmail.com"),
                 ("oskar", "oskar.nilsson@hotmail.com"), ("vendor_quay", "accounts@quayside-catering.co.uk"),
                 ("vendor_lumen", "rechnung@lumenprint-berlin.de"), ("alpen", "procurement@alpenglow-versicherung.ch"),
                 ("meridian", "j.castillo@meridianfreight.com")]:
        add(f"email.{k}", "EMAIL_ADDRESS", v)
    add("email.diego_zw", "EMAIL_ADDRESS", "diego.nav\u200barro@veranoretail.es", obfuscated=True)
    add("email.ayesha_zw", "EMAIL_ADDRESS", "a\u200byesha.khan@outlook.com", obfuscated=True)

    # --- phone numbers
    for k, v in [("berlin", "+49 30 901820 41"), ("london", "+44 20 7946 0321"), ("austin", "(512) 873-4410"),
                 ("madrid", "+34 912 408 337"), ("jonas", "+49 151 2384 7720"), ("marcus", "(737) 294-6618"),
                 ("pieter", "+31 6 4127 8850"), ("priya", "+44 7700 900418"), ("rachel", "(512) 639-2207"),
                 ("noah", "+1 512 448 9031"), ("hannah", "030 55832210"), ("greta", "+49 40 3378 2290"),
                 ("fiona", "+44 131 496 0725"), ("samuel", "(214) 386-5570"), ("kevin", "+353 87 241 6690"),
                 ("bruno", "+33 6 41 28 77 19"), ("henrik", "+46 70 318 44 25"), ("isabel", "+351 912 633 480"),
                 ("diego", "+34 622 871 904"), ("tom", "+44 7700 900127"), ("nadia", "(646) 292-7714"),
                 ("benefits", "0800 098 7734"), ("emily", "(617) 394-2256"), ("security", "+44 20 7946 0999")]:
        add(f"phone.{k}", "PHONE_NUMBER", v)
    add("phone.laura_fw", "PHONE_NUMBER", fullwidth("030 8847210"), obfuscated=True)
    add("phone.oskar_fw", "PHONE_NUMBER", fullwidth("+44 7700 900562"), obfuscated=True)

    # --- payment cards
    for k, kind, fmt in [("corp_amex", "amex", "spaces"), ("travel_visa", "visa", "spaces"),
                         ("samuel", "visa", "dashes"), ("greta", "mc", "spaces"), ("kevin", "visa", "plain"),
                         ("isabel", "mc2", "spaces"), ("log1", "visa", "plain"), ("log2", "mc", "plain"),
                         ("emily", "amex", "plain"), ("fiona", "mc", "dashes")]:
        add(f"card.{k}", "CREDIT_CARD_NUMBER", card(kind, fmt))

    # --- IBANs, sort codes, BICs, US banking
    for k, cc, sp in [("jonas", "DE", True), ("sofia", "DE", False), ("maximilian", "DE", True),
                      ("lumen", "DE", True), ("greta", "DE", False), ("lucia", "ES", True), ("verano", "ES", False),
                      ("claire", "FR", True), ("rivage", "FR", False), ("pieter", "NL", True), ("amstel", "NL", False)]:
        add(f"iban.{k}", "IBAN_CODE", iban(cc, sp))
    for k, bank in [("chloe", "TMSB"), ("quay", "TMSB"), ("siobhan", "HRBR")]:
        i, s = gb_iban_with_sort(bank)
        add(f"iban.{k}", "IBAN_CODE", i)
        add(f"sort.{k}", "UK_SORT_CODE", s)
    for k, v in [("hanse", "HKRBDEHHXXX"), ("ribera", "RIBBESMM"), ("thameside", "TMSBGB2L"),
                 ("rivage", "BRVGFRPP"), ("amstel", "AMHBNL2A"), ("lumen", "HKRBDEHH")]:
        add(f"bic.{k}", "SWIFT_BIC", v)
    for k in ["ethan", "marcus", "austin_office", "cloudfoundry", "rachel"]:
        add(f"routing.{k}", "US_BANK_ROUTING", aba_routing())
    for k in ["ethan", "marcus", "austin_office", "cloudfoundry", "rachel"]:
        add(f"acct.{k}", "US_BANK_ACCOUNT", digits(rng.choice([10, 11, 12]), "123456789"))
    for k in ["nw_inc", "cloudfoundry", "meridian", "cobalt"]:
        add(f"ein.{k}", "US_EIN", us_ein())

    # --- network
    for k, v in [("pg_primary", "10.20.0.11"), ("pg_replica", "10.20.0.12"), ("pg_dr", "10.40.0.11"),
                 ("vip", "10.20.0.10"), ("bastion", "203.0.113.45"), ("vpn_ber", "198.51.100.23"),
                 ("vpn_aus", "198.51.100.87"), ("attacker", "203.0.113.199"), ("office_wifi", "192.168.40.17"),
                 ("mysql", "10.20.4.18"), ("gw", "203.0.113.12"), ("k8s_api", "10.30.0.2")]:
        add(f"ip.{k}", "IPV4_ADDRESS", v)
    for k, v in [("pg_primary", "2001:db8:4a1:20::11"), ("edge", "2001:db8:4a1:1::80"),
                 ("attacker", "2001:db8:ffee:17::3"), ("k8s_api", "2001:db8:4a1:30::2"),
                 ("vpn", "2001:db8:77:100::1")]:
        add(f"ip6.{k}", "IPV6_ADDRESS", v)
    for k, v in [("laptop_lost", "3C:22:FB:91:4E:07"), ("printer", "00:1B:A9:5C:3D:72"),
                 ("ap_core", "f4:92:bf:6a:11:c8"), ("laptop_marcus", "a4-83-e7-2d-90-1f")]:
        add(f"mac.{k}", "MAC_ADDRESS", v)

    # --- US identifiers
    for k in ["ethan", "marcus", "rachel", "samuel", "noah"]:
        add(f"ssn.{k}", "US_SSN", us_ssn())
    for k in ["liam", "camila"]:
        add(f"itin.{k}", "US_ITIN", us_itin())
    for k in ["marcus", "rachel"]:
        add(f"uspass.{k}", "US_PASSPORT", digits(9, "56"))
    for k in ["marcus", "noah"]:
        add(f"txdl.{k}", "US_DRIVER_LICENSE", digits(8, "1234"))

    # --- UK identifiers
    add("nino.chloe", "UK_NINO", uk_nino(True))
    add("nino.priya", "UK_NINO", uk_nino(False))
    add("nino.tom", "UK_NINO", uk_nino(True))
    add("nhs.benefits", "UK_NHS_NUMBER", uk_nhs())
    add("nhs.arjun", "UK_NHS_NUMBER", uk_nhs())
    for k, v in [("london_office", "EC2A 4BX"), ("fiona", "EH6 7DQ"), ("chloe", "SE15 4QN"),
                 ("quay", "E14 9GE"), ("kevin_uk", "M4 1HN"), ("tom", "BS1 5TR")]:
        add(f"postcode.{k}", "UK_POSTCODE", v)
    for k in ["priya", "arjun"]:
        add(f"ukpass.{k}", "UK_PASSPORT", digits(9, "15"))

    # --- EU / other national identifiers
    add("dni.lucia", "ES_DNI", es_dni())
    add("dni.mateo", "ES_DNI", es_dni())
    add("dni.diego", "ES_DNI", es_dni())
    add("nie.giulia", "ES_NIE", es_nie())
    add("nie.camila", "ES_NIE", es_nie())
    add("cf.giulia", "IT_FISCAL_CODE", it_codice_fiscale("Bianchi", "Giulia", 1991, 4, 17, True, "F205"))
    add("cf.marco", "IT_FISCAL_CODE", it_codice_fiscale("Romano", "Marco", 1986, 11, 3, False, "H501"))
    add("nir.claire", "FR_NIR", fr_nir(True, 1988, 7, "75"))
    add("nir.bruno", "FR_NIR", fr_nir(False, 1979, 2, "69"))
    add("bsn.pieter", "NL_BSN", nl_bsn())
    add("bsn.laura", "NL_BSN", nl_bsn())
    add("be.karel", "BE_NATIONAL_NUMBER", be_national_number(1990, 9, 12, False))
    add("pesel.marta", "PL_PESEL", pl_pesel(1984, 6, 21, True))
    add("pesel.wojciech", "PL_PESEL", pl_pesel(1977, 1, 9, False))
    add("se.sofia", "SE_PERSONNUMMER", se_personnummer(1993, 2, 27, True))
    add("se.henrik", "SE_PERSONNUMMER", se_personnummer(1981, 10, 5, False))
    add("fi.aino", "FI_HETU", fi_hetu(1995, 8, 14, True))
    add("nif.tomas", "PT_NIF", pt_nif())
    add("nif.isabel", "PT_NIF", pt_nif())
    add("detax.jonas", "DE_TAX_ID", de_tax_id())
    add("detax.sofia", "DE_TAX_ID", de_tax_id())
    add("detax.maximilian", "DE_TAX_ID", de_tax_id())
    add("ppsn.siobhan", "IE_PPSN", ie_ppsn(False))
    add("ppsn.kevin", "IE_PPSN", ie_ppsn(True))
    add("sin.liam", "CA_SIN", ca_sin())
    add("tfn.olivia", "AU_TFN", au_tfn())
    add("aadhaar.arjun", "IN_AADHAAR", in_aadhaar())
    add("cpf.camila", "BR_CPF", br_cpf())
    add("vin.pool1", "VIN", vin("WVW", "R"))
    add("vin.pool2", "VIN", vin("1FM", "S"))

    # --- dates of birth (always written next to "date of birth"/"DOB"/"born")
    for k, v in [("marta", "21 June 1984"), ("sofia", "1993-02-27"), ("jonas", "08.11.1987"),
                 ("ethan", "03/29/1979"), ("camila", "12/05/1996"), ("liam", "1990-07-19"),
                 ("samuel", "04/02/1982"), ("nadia", "14 September 1994"), ("benefits", "02/03/1990"),
                 ("arjun", "1989-12-01"), ("giulia", "17/04/1991")]:
        add(f"dob.{k}", "DATE_OF_BIRTH", v)

    # --- crypto
    add("btc.bounty", "BTC_ADDRESS", base58check(b"\x00" + bytes(rng.getrandbits(8) for _ in range(20))))
    add("btc.ransom", "BTC_ADDRESS", bech32_address("bc", 0, bytes(rng.getrandbits(8) for _ in range(20))))
    add("eth.bounty", "ETH_ADDRESS", eip55(bytes(rng.getrandbits(8) for _ in range(20)).hex()[:40]))
    add("eth.treasury", "ETH_ADDRESS", "0x" + bytes(rng.getrandbits(8) for _ in range(20)).hex())

    # --- credentials in URLs / connection strings / passwords
    add("url.artifacts", "URL_WITH_CREDENTIALS",
        f"https://deploy-bot:{password(18, '')}@artifacts.{D}/repository/releases/")
    add("url.git", "URL_WITH_CREDENTIALS",
        f"https://ci-reader:{password(20, '-_')}@git.internal.{D}/platform/infra.git")
    add("url.grafana", "URL_WITH_CREDENTIALS",
        f"https://grafana-admin:{password(16, '')}@grafana.ops.{D}/d/pg-overview")
    add("conn.pg", "CONNECTION_STRING",
        f"postgres://svc_ledger:{password(20, '-_')}@pg-primary.internal.{D}:5432/ledger?sslmode=require")
    add("conn.pg_repl", "CONNECTION_STRING",
        f"postgresql://replicator:{password(22, '-_')}@10.20.0.12:5432/postgres")
    add("conn.mysql", "CONNECTION_STRING", f"mysql://reporting:{password(18, '-_')}@10.20.4.18:3306/analytics")
    add("conn.mongo", "CONNECTION_STRING",
        f"mongodb+srv://ingest_svc:{password(20, '-_')}@events-prod.x7kq2.mongodb.net/events?retryWrites=true&w=majority")
    add("conn.redis", "CONNECTION_STRING", f"redis://default:{password(24, '-_')}@cache-01.internal.{D}:6379/0")
    add("conn.amqp", "CONNECTION_STRING", f"amqp://billing:{password(18, '-_')}@mq-01.internal.{D}:5672/billing")
    for k, n in [("pg_admin", 20), ("replication", 18), ("grafana", 16), ("ldap_bind", 22), ("wifi_guest", 16),
                 ("jenkins", 24), ("vault_unseal", 24)]:
        add(f"pw.{k}", "PASSWORD", password(n))

    # --- API keys and tokens
    for k in ["prod", "ci", "leak"]:
        add(f"akid.{k}", "AWS_ACCESS_KEY_ID", "AKIA" + rand(UPPER + "234567", 16))
        add(f"awssecret.{k}", "AWS_SECRET_ACCESS_KEY", rand(B64, 40))
    ak = "AKIA" + rand(UPPER + "234567", 16)
    add("akid.leak_zw", "AWS_ACCESS_KEY_ID", ak[:6] + "\u200b" + ak[6:], obfuscated=True)
    add("ghp.deploy", "GITHUB_TOKEN", "ghp_" + rand(ALNUM, 36))
    add("ghp.leak", "GITHUB_TOKEN", "ghp_" + rand(ALNUM, 36))
    add("ghpat.renovate", "GITHUB_TOKEN", "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59))
    add("glpat.ci", "GITLAB_TOKEN", "glpat-" + rand(URLSAFE, 20))
    add("glpat.leak", "GITLAB_TOKEN", "glpat-" + rand(URLSAFE, 20))
    add("slack.bot", "SLACK_TOKEN", f"xoxb-{digits(12, '123456789')}-{digits(13, '123456789')}-{rand(ALNUM, 24)}")
    add("slack.alerts", "SLACK_WEBHOOK_URL",
        f"https://hooks.slack.com/services/T0{rand(UPPER + DIGITS, 8)}/B0{rand(UPPER + DIGITS, 9)}/{rand(ALNUM, 24)}")
    add("slack.deploys", "SLACK_WEBHOOK_URL",
        f"https://hooks.slack.com/services/T0{rand(UPPER + DIGITS, 8)}/B0{rand(UPPER + DIGITS, 9)}/{rand(ALNUM, 24)}")
    add("stripe.prod", "STRIPE_API_KEY", "sk_live_" + rand(ALNUM, 24))
    add("stripe.old", "STRIPE_API_KEY", "sk_live_51" + rand(ALNUM, 97))
    add("openai.prod", "OPENAI_API_KEY", "sk-proj-" + rand(URLSAFE, 74) + "T3BlbkFJ" + rand(URLSAFE, 74))
    add("anthropic.prod", "ANTHROPIC_API_KEY", "sk-ant-api03-" + rand(URLSAFE, 93) + "AA")
    add("hf.prod", "HUGGINGFACE_TOKEN", "hf_" + rand(UPPER + LOWER, 34))
    add("hf.old", "HUGGINGFACE_TOKEN", "hf_" + rand(UPPER + LOWER, 34))
    add("gcp.maps", "GCP_API_KEY", "AIza" + rand(URLSAFE, 35))
    add("gcp.old", "GCP_API_KEY", "AIza" + rand(URLSAFE, 35))
    add("azure.blob", "AZURE_STORAGE_KEY", rand(B64, 86) + "==")
    add("twilio.prod", "TWILIO_API_KEY", "SK" + rand(HEX, 32))
    add("twilio.old", "TWILIO_API_KEY", "SK" + rand(HEX, 32))
    add("sendgrid.prod", "SENDGRID_API_KEY", f"SG.{rand(URLSAFE, 22)}.{rand(URLSAFE, 43)}")
    add("sendgrid.old", "SENDGRID_API_KEY", f"SG.{rand(URLSAFE, 22)}.{rand(URLSAFE, 43)}")
    add("npm.publish", "NPM_TOKEN", "npm_" + rand(ALNUM, 36))
    add("npm.leak", "NPM_TOKEN", "npm_" + rand(ALNUM, 36))
    add("pypi.publish", "PYPI_TOKEN", "pypi-AgEIcHlwaS5vcmc" + rand(URLSAFE, 70))
    add("jwt.reporting", "JWT", jwt({"sub": "svc-reporting", "iss": f"https://auth.{D}", "aud": "ledger-api",
                                     "scope": "reports:read invoices:read", "iat": 1782172800, "exp": 1813708800}))
    add("jwt.session", "JWT", jwt({"sub": "u_48213", "name": "support-console", "role": "agent",
                                   "iat": 1782950400, "exp": 1782994000}))
    add("pem.deploy", "PRIVATE_KEY", pem_rsa())
    for k in ["prod", "staging", "old"]:
        add(f"sluice.{k}", "SLUICE_API_KEY", "sluice_" + rand(ALNUM, 32))
    add("dd.prod", "DATADOG_API_KEY", rand(HEX, 32))
    add("dd.old", "DATADOG_API_KEY", rand(HEX, 32))

    # --- base64-encoded canaries (value = the encoded run; entity = what it decodes to)
    enc_aws = rand(B64, 40)
    add("enc.aws_assign", "AWS_SECRET_ACCESS_KEY", b64(f"aws_secret_access_key = {enc_aws}"), encoding="base64")
    add("enc.k8s_ghp", "GITHUB_TOKEN", b64("ghp_" + rand(ALNUM, 36)), encoding="base64")
    add("enc.k8s_stripe", "STRIPE_API_KEY", b64("sk_live_" + rand(ALNUM, 24)), encoding="base64")
    add("enc.k8s_pg", "CONNECTION_STRING",
        b64(f"postgres://svc_billing:{password(20, '-_')}@pg-primary.internal.{D}:5432/billing"), encoding="base64")
    add("enc.docker_glpat", "GITLAB_TOKEN", b64("deploy-bot:glpat-" + rand(URLSAFE, 20)), encoding="base64")
    add("enc.helm_slack", "SLACK_TOKEN",
        b64(f"xoxb-{digits(12, '123456789')}-{digits(13, '123456789')}-{rand(ALNUM, 24)}"), encoding="base64")

    # --- added while writing the documents (appended so earlier values stay stable)
    add("ip.pg_async", "IPV4_ADDRESS", "10.20.0.13")
    add("ip.dd_agent", "IPV4_ADDRESS", "10.20.0.1")
    add("ip.k8s_svc", "IPV4_ADDRESS", "172.20.0.1")
    add("phone.meridian", "PHONE_NUMBER", "(469) 732-4482")
    add("iban.ribera", "IBAN_CODE", iban("ES", True))
    return VALUES


def main() -> None:
    vals = build()
    if "--json" in sys.argv:
        json.dump(vals, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return
    for k, v in vals.items():
        print(f"{k}\t{v['entity']}\t{v['value']!r}")


if __name__ == "__main__":
    main()
