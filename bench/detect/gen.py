#!/usr/bin/env python3
"""Writes bench/detect/pii.jsonl and bench/detect/secrets.jsonl: a labelled evaluation set for the
policy's detectors, in the case format `sluice eval policy --cases` reads (docs/eval.md §5).

Every value is synthetic, built here from the format's public specification (check digits,
structure, reserved or fictional number ranges) with a fixed seed, so the files are reproducible:
`python3 bench/detect/gen.py` rewrites them byte for byte. Negatives are near misses: a wrong
check digit, a wrong length, placeholders, documentation example keys, look-alikes (versions,
part numbers, code paths).

Secret values are written with their second character as a JSON \\uXXXX escape, so the committed
file never holds a provider-shaped token as raw bytes (secret scanners and push protection look
at raw bytes); every JSON reader decodes the escape, and the spans are offsets into the decoded
text.
"""

import json
import os
import random
import string

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261206)

UP = string.ascii_uppercase
LO = string.ascii_lowercase
DIG = string.digits
ALNUM = UP + LO + DIG
HEX = "0123456789abcdef"


def pick(s, n):
    return "".join(rng.choice(s) for _ in range(n))


# ------------------------------------------------------------------------------------------------
# Case building: a template with {v} (or {v0}, {v1}, ...) slots; spans are computed from the
# rendered text (UTF-8 byte offsets).


class Cases:
    def __init__(self):
        self.rows = []

    def add(self, template, *values, secret=False):
        """values: (entity or None, value). None = an unlabelled value (a near miss)."""
        text = ""
        spans = []
        rest = template
        i = 0
        while True:
            j = rest.find("{v}")
            if j < 0:
                text += rest
                break
            text += rest[:j]
            entity, value = values[i]
            start = len(text.encode())
            text += value
            if entity is not None:
                spans.append({"start": start, "end": len(text.encode()), "entity": entity})
            rest = rest[j + 3 :]
            i += 1
        assert i == len(values), template
        self.rows.append((text, spans, secret))

    def pos(self, entity, template, value, secret=False):
        if "{v}" not in template:
            # The value is written out in the template: label its first occurrence.
            assert value in template, template
            template = template.replace(value, "{v}", 1)
        self.add(template, (entity, value), secret=secret)

    def neg(self, template, *values, secret=False):
        if values and "{v}" not in template:
            template = template.replace(values[0], "{v}", 1)
        self.add(template, *[(None, v) for v in values], secret=secret)

    def write(self, path):
        with open(path, "w", encoding="utf-8") as f:
            for text, spans, secret in self.rows:
                f.write('{"text": ' + encode(text, spans if secret else []) + ', "spans": ')
                f.write(json.dumps(spans) + "}\n")


def encode(text, spans):
    """A JSON string literal; the second character of each span is written as \\uXXXX."""
    b = text.encode()
    escape_at = set()
    for s in spans:
        # byte offset -> char index of the span's second character
        first_char = len(b[: s["start"]].decode())
        escape_at.add(first_char + 1)
    out = ['"']
    for i, c in enumerate(text):
        if i in escape_at or ord(c) < 0x20:
            out.append("\\u%04x" % ord(c))
        elif c in '"\\':
            out.append("\\" + c)
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


# ------------------------------------------------------------------------------------------------
# Check digits (written from the formats' specifications).


def luhn_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(s):
    return luhn_digit(s[:-1]) == s[-1]


def iso7064_11_10(digits):
    product = 10
    for ch in digits:
        s = (int(ch) + product) % 10
        if s == 0:
            s = 10
        product = (s * 2) % 11
    c = 11 - product
    return str(0 if c == 10 else c)


def bad_digit(d):
    return str((int(d) + rng.randint(1, 9)) % 10)


DNI = "TRWAGMYFPDXBNJZSQVHLCKE"


def nhs():
    while True:
        # England and Wales allocate from the 400-499 and 600-799 million ranges.
        d = rng.choice("4670") + pick(DIG, 8)
        if d[0] == "0":
            continue
        c = 11 - sum(int(x) * w for x, w in zip(d, range(10, 1, -1))) % 11
        if c == 11:
            c = 0
        if c != 10 and len(set(d)) > 2:
            return d + str(c)


def ssn():
    while True:
        a = rng.randint(1, 899)
        if a == 666:
            continue
        return "%03d" % a, "%02d" % rng.randint(1, 99), "%04d" % rng.randint(1, 9999)


def itin():
    g = rng.choice(list(range(50, 66)) + list(range(70, 89)) + [90, 91, 92] + list(range(94, 100)))
    return "9%02d" % rng.randint(0, 99), "%02d" % g, "%04d" % rng.randint(1, 9999)


def aba():
    while True:
        # Federal Reserve routing symbols 01-12, thrift 21-32, electronic 61-72.
        b = "%02d" % rng.choice(list(range(1, 13)) + list(range(21, 33)) + list(range(61, 73))) + pick(DIG, 6)
        w = [3, 7, 1, 3, 7, 1, 3, 7]
        s = sum(int(x) * y for x, y in zip(b, w))
        c = (10 - s % 10) % 10
        v = b + str(c)
        if len(set(v)) > 3:
            return v


def dea():
    first = rng.choice("ABFGMPRX")
    second = rng.choice(UP)
    d = pick(DIG, 6)
    c = (int(d[0]) + int(d[2]) + int(d[4]) + 2 * (int(d[1]) + int(d[3]) + int(d[5]))) % 10
    return first + second + d + str(c)


MBI_L = "ACDEFGHJKMNPQRTUVWXY"


def mbi(dashes=False):
    an = MBI_L + DIG
    v = (rng.choice("123456789") + rng.choice(MBI_L) + rng.choice(an) + rng.choice(DIG)
         + rng.choice(MBI_L) + rng.choice(an) + rng.choice(DIG)
         + rng.choice(MBI_L) + rng.choice(MBI_L) + rng.choice(DIG) + rng.choice(DIG))
    return v[:4] + "-" + v[4:7] + "-" + v[7:] if dashes else v


def valid_date(y, m, d):
    if not 1 <= m <= 12:
        return False
    days = [31, 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31]
    return 1 <= d <= days[m - 1]


def rand_date(y0=1950, y1=2005):
    y = rng.randint(y0, y1)
    m = rng.randint(1, 12)
    d = rng.randint(1, 28)
    return y, m, d


def pnr(century=False, sep="-"):
    y, m, d = rand_date(1940, 2004)
    while True:
        nine = "%02d%02d%02d" % (y % 100, m, d) + pick(DIG, 3)
        v = nine + luhn_digit(nine)
        if century:
            return "%02d" % (y // 100) + v[:6] + sep + v[6:]
        return v[:6] + sep + v[6:]


def orgnr():
    nine = rng.choice("2579") + rng.choice(DIG) + rng.choice("23456789") + pick(DIG, 6)
    v = nine + luhn_digit(nine)
    return v[:6] + "-" + v[6:]


def pesel():
    y, m, d = rand_date(1940, 2015)
    mm = m + (20 if y >= 2000 else 0)
    body = "%02d%02d%02d" % (y % 100, mm, d) + pick(DIG, 4)
    w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]
    c = (10 - sum(int(x) * y for x, y in zip(body, w)) % 10) % 10
    return body + str(c)


def dni(seven=False):
    n = rng.randint(1_000_000, 9_999_999) if seven else rng.randint(10_000_000, 99_999_999)
    return str(n), DNI[n % 23]


def nie():
    p = rng.choice("XYZ")
    n = pick(DIG, 7)
    return p + n + DNI[int(str("XYZ".index(p)) + n) % 23]


def nif_klm():
    p = rng.choice("KLM")
    n = pick(DIG, 7)
    return p + n + DNI[int(n) % 23]


def de_tax_id():
    while True:
        ds = list(DIG)
        rng.shuffle(ds)
        body = ds[:9]
        if body[0] == "0":
            continue
        dup = rng.choice(body)
        k = rng.randint(1, 9)
        body.insert(k, dup)
        s = "".join(body)
        if any(s[i] == s[i + 1] == s[i + 2] for i in range(8)):
            continue
        return s + iso7064_11_10(s)


def de_vat():
    b = rng.choice("123456789") + pick(DIG, 7)
    return "DE" + b + iso7064_11_10(b)


def kvnr():
    letter = rng.choice(UP)
    d8 = pick(DIG, 8)
    eff = "%02d" % (ord(letter) - 64) + d8
    total = 0
    for i, ch in enumerate(eff):
        p = int(ch) * (1 if i % 2 == 0 else 2)
        total += p // 10 + p % 10
    return letter + d8 + str(total % 10)


def rvnr():
    y, m, d = rand_date(1950, 2004)
    area = rng.choice(["12", "13", "15", "17", "24", "38", "42", "53", "65"])
    letter = rng.choice(UP)
    serial = "%02d" % rng.randint(0, 99)
    eff = area + "%02d%02d%02d" % (d, m, y % 100) + "%02d" % (ord(letter) - 64) + serial
    w = [2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1]
    total = sum((int(c) * x) // 10 + (int(c) * x) % 10 for c, x in zip(eff, w))
    return area + "%02d%02d%02d" % (d, m, y % 100) + letter + serial + str(total % 10)


def lanr():
    d6 = pick(DIG, 6)
    s = sum(int(c) * w for c, w in zip(d6, [4, 9, 4, 9, 4, 9]))
    return d6 + str((10 - s % 10) % 10) + rng.choice(["01", "03", "23", "34", "50"])


def bsnr():
    return rng.choice(["01", "02", "17", "20", "38", "46", "52", "71", "72", "93"]) + pick(DIG, 7)


ICAO = {c: i for i, c in enumerate(DIG + UP)}


def icao_digit(s):
    return str(sum(ICAO[c] * [7, 3, 1][i % 3] for i, c in enumerate(s)) % 10)


def de_passport():
    s = "C" + pick("CFGHJKLMNPRTVWXYZ0123456789", 7)
    return s + icao_digit(s)


def de_id_card():
    return rng.choice("LMNPRTVWXY") + pick("CFGHJKLMNPRTVWXY0123456789", 8)


CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                  [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18,
                   20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]))


def cf_check(s15):
    total = 0
    for i, c in enumerate(s15):
        if i % 2 == 0:
            total += CF_ODD[c]
        else:
            total += int(c) if c.isdigit() else ord(c) - 65
    return chr(65 + total % 26)


def codice_fiscale():
    cons = "BCDFGHLMNPRSTVZ"
    y, m, d = rand_date(1950, 2004)
    day = d + (40 if rng.random() < 0.5 else 0)
    s = (pick(cons, 3) + pick(cons, 3) + "%02d" % (y % 100) + "ABCDEHLMPRST"[m - 1] + "%02d" % day
         + rng.choice(["H501", "F205", "A562", "L219", "G273", "D612"]))
    return s + cf_check(s)


def it_vat():
    b = pick(DIG, 7) + rng.choice(["001", "015", "021", "037", "058", "063", "096"])
    return b + luhn_digit(b)


def uk_vrn():
    area = pick("ABCDEFGHJKLMNOPRSTUVWXY", 2)
    age = rng.choice(list(range(2, 26)) + list(range(51, 76)))
    return area + "%02d" % age, pick("ABCDEFGHJKLMNOPRSTUVWXYZ", 3)


SURNAMES = ["MORGAN", "SMITH", "PATEL", "JONES", "LEE", "WILLIAMS", "OKAFOR", "NGUYEN", "EVANS"]


def uk_dl():
    sn = rng.choice(SURNAMES)[:5].ljust(5, "9")
    y, m, d = rand_date(1950, 2004)
    mm = m + (50 if rng.random() < 0.5 else 0)
    initials = rng.choice([pick(UP, 2), rng.choice(UP) + "9"])
    return sn + str((y // 10) % 10) + "%02d%02d" % (mm, d) + str(y % 10) + initials + rng.choice(DIG) + pick(UP, 2)


def iban_de():
    bank = pick(DIG, 8)
    acct = pick(DIG, 10)
    bban = bank + acct
    num = int(bban + "1314" + "00")
    chk = 98 - num % 97
    return "DE%02d%s" % (chk, bban)


def card(prefix="4", length=16):
    body = prefix + pick(DIG, length - len(prefix) - 1)
    return body + luhn_digit(body)


def group(s, sizes, sep=" "):
    out, i = [], 0
    for n in sizes:
        out.append(s[i : i + n])
        i += n
    return sep.join(out)


# ================================================================================================
# PII
# ================================================================================================

P = Cases()

# --- UK ------------------------------------------------------------------------------------------
for i in range(6):
    a, b = uk_vrn()
    v = a + " " + b if i % 2 == 0 else a + b
    t = ["Vehicle registration {v} was caught on camera.", "The van ({v}) is booked for its MOT.",
         "Parked car {v} outside bay 4.", "Fleet list: {v}, grey Ford Transit.",
         "Reg: {v}", "DVLA record for {v} updated."][i]
    P.pos("UK_VEHICLE_REGISTRATION", t, v)
P.pos("UK_VEHICLE_REGISTRATION", "Her old car, registration number A123 BCD, was scrapped.", "A123 BCD")
P.pos("UK_VEHICLE_REGISTRATION", "Classic car reg ABC 123D restored in 2019.", "ABC 123D")
for i in range(6):
    v = uk_dl()
    if i % 3 == 2:
        v = v[:5] + " " + v[5:11] + " " + v[11:]
    t = ["Driving licence number {v}, full UK.", "DVLA licence: {v}", "Licence {v} checked by HR.",
         "Driver record {v} (no points).", "UK driving licence {v} expires 2031.",
         "Copy of licence attached: {v}"][i]
    P.pos("UK_DRIVING_LICENCE", t, v)
for t, v in [("UK passport number {v}, issued by HMPO.", pick(DIG, 9)),
             ("British passport: {v}", pick(UP, 2) + pick(DIG, 7)),
             ("Her Majesty's Passport Office issued passport {v}.", pick(DIG, 9)),
             ("Passport (GBR) {v}", pick(UP, 2) + pick(DIG, 7))]:
    P.pos("UK_PASSPORT", t, v)
for t, v in [("Send it to SW1A1AA, London.", "SW1A1AA"),
             ("Postcode: EC1A1BB", "EC1A1BB"),
             ("Delivery address: 221B Baker Street, London NW1 6XE", "NW1 6XE"),
             ("Office in Manchester M1 1AE.", "M1 1AE"),
             ("post code B338TH please", "B338TH"),
             ("Ship to 10 Downing St, SW1A 2AA", "SW1A 2AA")]:
    P.pos("UK_POSTCODE", t, v)
for i in range(8):
    d = nhs()
    v = [group(d, [3, 3, 4], "-"), group(d, [3, 3, 4], " "), d, group(d, [3, 3, 4], "-")][i % 4]
    t = ["NHS number {v}", "Patient {v} seen in A&E.", "nhs_no={v}", "Ref {v} for the GP referral.",
         "Her NHS no. is {v}.", "{v} was added to the waiting list.", "Health record {v}",
         "National Health Service number: {v}"][i]
    if i % 4 == 2 and "nhs" not in t.lower() and "health" not in t.lower() and "patient" not in t.lower():
        t = "NHS " + t
    P.pos("UK_NHS_NUMBER", t, v)
for v in ["QQ 12 34 56 C"]:
    P.neg("Specimen NINO {v} from the HMRC manual.", v)
P.pos("UK_NINO", "National Insurance number AB 12 34 56 C", "AB 12 34 56 C")
P.pos("UK_NINO", "NINO: JG103759A", "JG103759A")

# UK negatives
d = nhs()
P.neg("NHS number {v} (mistyped)", d[:9] + bad_digit(d[9]))
P.neg("Invoice 123-456-7890 and part 000 000 0000", "123-456-7890")
P.neg("Reg: AB99 CDE is not a valid age identifier.", "AB99 CDE")
P.neg("Order reference SW1A1AZ9 and code X5 2AB.", "SW1A1AZ9")
P.neg("Model number AB12 CDEF shipped.", "AB12 CDEF")
P.neg("The licence key MORGA-7531-16SM is for the software.", "MORGA-7531-16SM")

# --- Spain -----------------------------------------------------------------------------------------
for i in range(6):
    n, l = dni(seven=(i >= 3))
    v = [n + l, n + "-" + l, n + " " + l][i % 3]
    t = ["DNI {v}", "NIF del titular: {v}", "con documento nacional de identidad {v}",
         "titular {v}, Madrid", "DNI: {v}", "identificación {v} verificada"][i]
    P.pos("ES_DNI", t, v)
for t in ["NIF {v} (menor sin DNI)", "número de identificación fiscal {v}"]:
    P.pos("ES_DNI", t, nif_klm())
for t in ["NIE {v}", "tarjeta de residencia {v}", "número de identidad de extranjero: {v}"]:
    P.pos("ES_NIE", t, nie())
for t in ["Pasaporte número {v}", "passport number {v} (Spain)", "pasaporte: {v}"]:
    P.pos("ES_PASSPORT", t, pick(UP, 3) + pick(DIG, 6))
n, l = dni()
P.neg("DNI {v} (letra incorrecta)", n + DNI[(DNI.index(l) + 1) % 23])
P.neg("Referencia de pedido {v}", pick(DIG, 8) + "Q")
P.neg("Lote ABC123456 del almacén", "ABC123456")

# --- Germany -----------------------------------------------------------------------------------------
for t in ["Personalausweis Nr. {v}", "Ausweisnummer: {v}", "ID card number {v} (Germany)"]:
    P.pos("DE_ID_CARD", t, de_id_card())
for t in ["Reisepass Nr. {v}", "Passnummer {v}", "German passport number {v}"]:
    P.pos("DE_PASSPORT", t, de_passport())
for i in range(5):
    v = kvnr()
    t = ["Krankenversichertennummer {v}", "KVNR: {v}", "Versichertennummer {v} (AOK)",
         "eGK {v} gültig bis 2028", "Mitglied {v} der Techniker Krankenkasse"][i]
    P.pos("DE_HEALTH_INSURANCE", t, v)
for i in range(6):
    v = de_tax_id()
    f = [v, group(v, [2, 3, 3, 3]), v, group(v, [2, 3, 3, 3]), v, group(v, [2, 3, 3, 3])][i]
    t = ["Steuer-ID: {v}", "Ihre Identifikationsnummer {v}", "IdNr {v} laut Bescheid",
         "Steuerliche ID {v}", "tax id {v} (Germany)", "Die Nummer {v} steht auf dem Bescheid."][i]
    P.pos("DE_TAX_ID", t, f)
for t in ["USt-IdNr.: {v}", "VAT ID {v}", "Umsatzsteuer-ID {v} auf der Rechnung", "Rechnung von {v}"]:
    P.pos("DE_VAT_ID", t, de_vat())
for t in ["Sozialversicherungsnummer {v}", "Rentenversicherungsnummer: {v}", "SV-Nummer {v}", "RVNR {v}"]:
    P.pos("DE_SOCIAL_SECURITY", t, rvnr())
for t in ["BSNR {v}", "Betriebsstättennummer: {v}"]:
    P.pos("DE_BSNR", t, bsnr())
for t in ["LANR {v}", "lebenslange Arztnummer {v}"]:
    P.pos("DE_LANR", t, lanr())
v = de_tax_id()
P.neg("Steuer-ID {v} (Prüfziffer falsch)", v[:10] + bad_digit(v[10]))
v = de_vat()
P.neg("USt-IdNr. {v} ungültig", v[:10] + bad_digit(v[10]))
v = kvnr()
P.neg("KVNR {v} (Tippfehler)", v[:9] + bad_digit(v[9]))
P.neg("Bestellnummer {v} vom 12. März", "A123456789")
P.neg("Artikel DE12345 und Seite 4", "DE12345")
v = rvnr()
P.neg("Sozialversicherungsnummer {v} (falsch)", v[:11] + bad_digit(v[11]))

# --- Italy ---------------------------------------------------------------------------------------------
for t in ["Codice fiscale: {v}", "cliente {v}, fattura 2024/118", "CF {v}"]:
    P.pos("IT_FISCAL_CODE", t, codice_fiscale())
for t, v in [("Carta d'identità n. {v}", pick(UP, 2) + pick(DIG, 5) + pick(UP, 2)),
             ("carta di identità elettronica (CIE) {v}", pick(UP, 2) + pick(DIG, 5) + pick(UP, 2)),
             ("documento di riconoscimento: carta d'identità {v}", pick(UP, 2) + " " + pick(DIG, 7))]:
    P.pos("IT_IDENTITY_CARD", t, v)
for t in ["Passaporto n. {v}", "numero di passaporto {v}"]:
    P.pos("IT_PASSPORT", t, pick(UP, 2) + pick(DIG, 7))
for t, v in [("Patente di guida {v}", "U1" + pick("BCDEFGHLJKMNPRSTUWYXZ0123456789", 7) + rng.choice(UP)),
             ("patente n. {v}", pick(UP, 2) + pick(DIG, 7) + rng.choice(UP))]:
    P.pos("IT_DRIVER_LICENSE", t, v)
for t, v in [("Partita IVA {v}", it_vat()), ("P.IVA: {v}", it_vat()), ("VAT IT{v}", it_vat())]:
    if t.startswith("VAT"):
        P.pos("IT_VAT_CODE", "VAT number {v}", "IT" + v)
    else:
        P.pos("IT_VAT_CODE", t, v)
v = codice_fiscale()
P.neg("Codice fiscale {v} (carattere di controllo errato)", v[:15] + ("A" if v[15] != "A" else "B"))
v = it_vat()
P.neg("Partita IVA {v} errata", v[:10] + bad_digit(v[10]))

# --- United States -------------------------------------------------------------------------------------
for i in range(8):
    a, g, s = ssn()
    v = [a + "-" + g + "-" + s, a + " " + g + " " + s, a + "." + g + "." + s, a + g + s,
         a + g + "-" + s, a + "-" + g + "-" + s, a + g + s, a + "." + g + "." + s][i]
    t = ["SSN: {v}", "social security number {v}", "SSN {v} on the W-2", "ssn={v}",
         "Social Security No. {v}", "Employee {v} (SSN) onboarded.", "her SSN is {v}", "SSN# {v}"][i]
    P.pos("US_SSN", t, v)
for i in range(4):
    a, g, s = itin()
    v = [a + "-" + g + "-" + s, a + g + s, a + " " + g + " " + s, a + g + s][i]
    t = ["ITIN {v}", "individual taxpayer identification number {v}", "ITIN: {v}", "itin={v}"][i]
    P.pos("US_ITIN", t, v)
for i in range(5):
    v = mbi(dashes=(i % 2 == 0))
    t = ["Medicare Beneficiary Identifier {v}", "MBI: {v}", "new Medicare card {v}", "member MBI {v}",
         "Medicare number {v}"][i]
    P.pos("US_MBI", t, v)
for t, v in [("US passport {v}", pick(DIG, 9)), ("Passport No. {v}", rng.choice(UP) + pick(DIG, 8)),
             ("passport number: {v}", pick("123456789", 1) + pick(DIG, 8))]:
    P.pos("US_PASSPORT", t, v)
for t, v in [("California driver's license {v}", rng.choice(UP) + pick(DIG, 7)),
             ("Driver license number: {v}", pick(DIG, 8)),
             ("FL DL# {v}", rng.choice(UP) + pick(DIG, 3) + "-" + pick(DIG, 3) + "-" + pick(DIG, 2) + "-" + pick(DIG, 3) + "-" + rng.choice(DIG))]:
    P.pos("US_DRIVER_LICENSE", t, v)
for i in range(5):
    v = aba()
    f = [v, v[:4] + "-" + v[4:8] + "-" + v[8], v, v[:4] + "-" + v[4:8] + "-" + v[8], v][i]
    t = ["routing number {v}", "ABA {v}", "ACH routing: {v}", "wire to {v}", "RTN {v}"][i]
    P.pos("US_BANK_ROUTING", t, f)
for t in ["DEA number {v}", "Prescriber DEA: {v}", "DEA registration {v} on file", "medical licence {v}"]:
    P.pos("MEDICAL_LICENSE", t, dea())
P.neg("SSN {v} is never issued", "000-12-3456")
P.neg("SSN {v} is never issued", "666-45-1234")
P.neg("Sample card SSN {v}", "078-05-1120")
P.neg("Ship to Austin TX {v}", "78701-1234")
v = aba()
P.neg("routing {v} (bad check digit)", v[:8] + bad_digit(v[8]))
v = dea()
P.neg("DEA {v} (bad check digit)", v[:8] + bad_digit(v[8]))
P.neg("Part no. {v} in stock", "1AB2-CD3-EF45")
P.pos("PHONE_NUMBER", "Call {v} for support", "512-555-0147")

# --- Sweden / Poland -------------------------------------------------------------------------------------
for i in range(6):
    v = [pnr(), pnr(century=True), pnr(sep="+"), pnr(century=True), pnr(), pnr(century=True, sep="")][i]
    t = ["Personnummer {v}", "Sökande {v}, Stockholm", "pnr: {v}", "{v} (personnummer)",
         "Kund {v} registrerad", "personnummer {v}"][i]
    P.pos("SE_PERSONNUMMER", t, v)
for t in ["Organisationsnummer {v}", "Org.nr {v}", "Företag AB ({v})"]:
    P.pos("SE_ORGANISATIONSNUMMER", t, orgnr())
for i in range(6):
    v = pesel()
    t = ["PESEL: {v}", "nr PESEL {v}", "Klient {v} zarejestrowany.", "{v}", "numer ewidencyjny {v}",
         "Dane pacjenta: {v}, Kraków"][i]
    P.pos("PL_PESEL", t, v)
v = pnr()
P.neg("personnummer {v} (fel kontrollsiffra)", v[:-1] + bad_digit(v[-1]))
v = pesel()
P.neg("PESEL {v} (zła cyfra kontrolna)", v[:10] + bad_digit(v[10]))
P.neg("Faktura nr {v}", "99999999999")

# --- Phone numbers ---------------------------------------------------------------------------------------
PHONES = [
    ("Call me on {v} tomorrow.", "(202) 555-0173"),
    ("Office: {v}", "415-555-0132"),
    ("reach us at {v}", "+1 212 555 0147"),
    ("Fax {v}", "212.555.0199"),
    ("Ring {v} for the London desk.", "020 7946 0321"),
    ("Mobile {v}", "07700 900456"),
    ("WhatsApp {v}", "+44 7700 900789"),
    ("Manchester: {v}", "+44 (0)161 496 0123"),
    ("Tel. {v}", "030 12345678"),
    ("Handy {v}", "0151 23456789"),
    ("Zentrale {v}", "+49 89 12345678"),
    ("Téléphone : {v}", "01 23 45 67 89"),
    ("Portable {v}", "+33 6 12 34 56 78"),
    ("India office {v}", "+91 98765 43210"),
    ("Bangalore landline {v}", "+91-80-2345-6789"),
    ("Mobile: {v} (India)", "094483 21567"),
    ("Tokyo office {v}", "03-1234-5678"),
    ("Japanese mobile {v}", "090-1234-5678"),
    ("Osaka {v}", "+81 6-6123-4567"),
    ("Seoul mobile {v}", "010-1234-5678"),
    ("Korea office {v}", "+82 2-312-3456"),
    ("Beijing {v}", "+86 10 6552 9988"),
    ("Shanghai mobile {v}", "138 0013 8000"),
    ("China mobile {v}", "+86 138 0013 8000"),
    ("Sydney {v}", "(02) 9876 5432"),
    ("Mobile {v} (AU)", "0491 570 156"),
    ("Melbourne {v}", "+61 3 9123 4567"),
    ("São Paulo {v}", "(11) 91234-5678"),
    ("Rio {v}", "(21) 2345-6789"),
    ("Brazil {v}", "+55 11 91234 5678"),
    ("Singapore {v}", "+65 6123 4567"),
    ("SG mobile: {v}", "9123 4567"),
    ("Tel Aviv {v}", "03-123-4567"),
    ("Israel mobile {v}", "050-123-4567"),
    ("Hong Kong {v}", "+852 2123 4567"),
    ("From abroad dial {v}", "0044 20 7946 0958"),
    ("Contact {v}", "(+44) 20 7946 0123"),
    ("Telefono {v}", "+39 06 1234 5678"),
    ("Teléfono {v}", "+34 612 345 678"),
    ("Bel {v}", "06-12345678"),
]
for t, v in PHONES:
    P.pos("PHONE_NUMBER", t, v)
for t, v in [("Release build {v} is out", "4.12.1023"),
             ("Total: {v} EUR", "1 234 567,89"),
             ("Order {v}", "2024-0001-5678"),
             ("ISBN {v}", "978-3-16-148410-0"),
             ("Tracking no. {v} arrives Friday", "1Z999AA10123456784"),
             ("version {v}", "4.12.30.1"),
             ("Meeting at {v}", "12:30"),
             ("Coordinates {v}", "51.5074, -0.1278")]:
    P.neg(t, v)

# --- Network ---------------------------------------------------------------------------------------------
for t, v in [("Failed login from {v}", "203.0.113.42"),
             ("client {v} connected", "198.51.100.7"),
             ("X-Forwarded-For: {v}", "81.2.69.160")]:
    P.pos("IPV4_ADDRESS", t, v)
for t, v in [("client addr {v} port 443", "2001:db8:85a3::8a2e:370:7334"),
             ("full form {v}", "2001:0db8:0000:0000:0000:ff00:0042:8329"),
             ("link-local {v} on eth0", "fe80::1"),
             ("gateway {v}", "fe80::1ff:fe23:4567:890a"),
             ("IPv6 loopback {v}", "::1"),
             ("listen on [{v}]:8080", "::1"),
             ("mapped address {v}", "::ffff:192.0.2.128"),
             ("route {v} via eth1", "2001:db8::"),
             ("ULA {v} assigned", "fd12:3456:789a:1::1"),
             ("host {v} answered", "2001:db8::8:800:200c:417a"),
             ("bind to {v} (all IPv6 interfaces)", "::"),
             ("peer {v} reachable", "2a00:1450:4001:81c::200e"),
             ("dns {v}", "2001:4860:4860::8888")]:
    P.pos("IPV6_ADDRESS", t, v)
for t, v in [("call {v} in the code", "std::fmt::Display"),
             ("use {v} here", "cafe::beef"),
             ("namespace {v}", "a::b::c"),
             ("at {v} sharp", "12:30:45"),
             ("method {v}", "Foo::add"),
             ("tag {v}", "dead:beef"),
             ("version {v}", "1.2.3.4.5"),
             ("bad address {v}", "999.12.10.300")]:
    P.neg(t, v)

# --- Dates -----------------------------------------------------------------------------------------------
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
DATES = []
for i in range(24):
    y, m, d = rand_date(1995, 2027)
    d = rng.randint(13, 28) if i % 5 == 1 else d
    f = [
        "%04d-%02d-%02d" % (y, m, d),
        "%02d/%02d/%04d" % (d, m, y),
        "%02d/%02d/%04d" % (m, d, y),
        "%02d.%02d.%04d" % (d, m, y),
        "%d %s %d" % (d, MONTHS[m - 1], y),
        "%s %d, %d" % (MONTHS[m - 1], d, y),
        "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)),
        "%02d-%02d-%04d" % (d, m, y),
        "%04d/%02d/%02d" % (y, m, d),
        "%d-%s-%d" % (d, MONTHS[m - 1][:3], y),
        "%s %d %d" % (MONTHS[m - 1][:3], d, y),
        "%dth %s %d" % (d if d > 3 and d < 21 else 14, MONTHS[m - 1], y),
        "%02d/%02d/%02d" % (d, m, y % 100),
        "%04d-%02d-%02d %02d:%02d" % (y, m, d, rng.randint(0, 23), rng.randint(0, 59)),
        "%s %d" % (MONTHS[m - 1], y),
        "%s, %d %s %d" % (["Monday", "Tuesday", "Friday"][i % 3], d, MONTHS[m - 1], y),
    ][i % 16]
    t = ["The contract was signed on {v}.", "Meeting moved to {v}", "Invoice date: {v}",
         "Last login {v}", "Deadline {v} for the report", "Shipped {v}",
         "updated_at={v}", "Effective from {v}."][i % 8]
    P.pos("DATE_TIME", t, f)
for t, v in [("Date of birth: {v}", "12/03/1985"), ("DOB {v}", "1979-11-30"), ("born on {v}", "4 July 1990")]:
    P.pos("DATE_OF_BIRTH", t, v)
for t, v in [("Invalid date {v} in the form", "31/02/2024"),
             ("Month {v} does not exist", "2024-13-01"),
             ("Placeholder {v}", "00/00/0000"),
             ("Upgrade to {v}", "1.2.2024.5"),
             ("Score {v}", "12/45"),
             ("Ratio {v}", "3/4"),
             ("ticket {v}", "99-99-9999")]:
    P.neg(t, v)

# --- URLs ------------------------------------------------------------------------------------------------
for t, v in [("See {v} for details.", "https://www.example.com"),
             ("Wiki: {v}", "http://intranet.acme-corp.com/wiki/Onboarding"),
             ("Docs at {v}", "https://docs.python.org/3/library/re.html"),
             ("Visit {v} today", "www.northwind-analytics.com"),
             ("Our site is {v}.", "acme-corp.com"),
             ("Issue {v}", "https://github.com/acme/sluice/issues/1234"),
             ("Search {v}", "https://example.org/search?q=privacy&lang=en"),
             ("Link: {v}", "https://shop.example.co.uk/products/blue-widget"),
             ("Download from {v}", "http://downloads.example.net/releases/v2/app.tar.gz"),
             ("Policy page {v}", "https://www.gov.uk/data-protection"),
             ("<a href=\"{v}\">home</a>", "https://www.example.de/kontakt"),
             ("url={v}", "https://api.example.io/v1/status")]:
    P.pos("URL", t, v)
for t, v in [("Edit {v} and restart", "config.py"),
             ("Read {v} first", "README.md"),
             ("e.g. {v}", "version 1.2.3"),
             ("Run {v}", "main.rs"),
             ("Open {v}", "report.final.docx"),
             ("Written in {v}", "Node.js"),
             ("Mr. Smith, Dr.Jones and U.S. offices", "U.S.")]:
    P.neg(t, v)

# --- Sanity: formats that already worked ------------------------------------------------------------------
P.pos("EMAIL_ADDRESS", "Write to {v} today.", "jane.doe@northwind-analytics.com")
P.pos("CREDIT_CARD_NUMBER", "Card {v} on file.", group(card(), [4, 4, 4, 4]))
P.pos("IBAN_CODE", "IBAN {v}", iban_de())

P.write(os.path.join(HERE, "pii.jsonl"))

# ================================================================================================
# Secrets
# ================================================================================================

S = Cases()


def sp(entity, template, value):
    S.pos(entity, template, value, secret=True)


def sn(template, *values):
    S.neg(template, *values, secret=True)


def uuid(upper=False):
    h = HEX.upper() if upper else HEX
    return "-".join(pick(h, n) for n in (8, 4, 4, 4, 12))


def b64(n):
    return pick(ALNUM + "+/", n)


# --- curl -u / -H ------------------------------------------------------------------------------------------
for t, v in [
    ("curl -u {v} https://api.example.com/v1/items", "deploy:" + pick(ALNUM, 14)),
    ("curl --user {v} https://jenkins.internal/job/build", "admin:" + pick(ALNUM, 12) + "!"),
    ("curl -s -u '{v}' -X POST https://registry.example.com", "ci-bot:" + pick(ALNUM, 16)),
    ("curl -u \"{v}\" https://example.com/upload", "svc_backup:" + pick(ALNUM, 10) + "#9"),
    ("curl -X GET -u{v} https://host.example.org/api", "jdoe:" + pick(ALNUM, 13)),
    ("curl --user={v} https://artifactory.example.com/api/repos", "builder:" + pick(ALNUM, 18)),
]:
    sp("HTTP_BASIC_AUTH", t, v)
tok = pick(ALNUM, 32)
sp("BEARER_TOKEN", "curl -H \"Authorization: Bearer {v}\" https://api.example.com/me", tok)
tok = pick(ALNUM + "-_", 28)
sp("BEARER_TOKEN", "curl https://api.example.com/me -H 'Authorization: Bearer {v}'", tok)
sp("HTTP_BASIC_AUTH", "curl -H \"Authorization: Basic {v}\" https://example.com", b64(24) + "==")
sp("GENERIC_API_KEY", "curl -H 'X-API-Key: {v}' https://api.example.com/v2/orders", pick(ALNUM, 32))
sp("GENERIC_API_KEY", "curl -H \"Authorization: Token {v}\" https://api.example.com", pick(HEX, 40))
sn("curl -u {v} https://example.com", "user:password")
sn("curl -u {v} https://example.com", "$USER:$PASS")
sn("curl -u {v} https://example.com", "<username>:<password>")
sn("curl -u \"{v}\" https://example.com", "admin:changeme")
sn("curl -H \"Authorization: Bearer {v}\" https://api.example.com", "$TOKEN")
sn("curl -H \"Authorization: Bearer {v}\" https://api.example.com", "<your-token>")
sn("curl -u {v} https://example.com", "${API_USER}:${API_KEY}")

# --- Slack legacy shapes -----------------------------------------------------------------------------------
sp("SLACK_TOKEN", "SLACK_TOKEN={v}", "xoxb-" + pick(DIG, 12) + "-" + pick(ALNUM, 24))
sp("SLACK_TOKEN", "bot token {v}", "xoxb-" + pick(DIG, 9) + "-" + pick(ALNUM, 20))
sp("SLACK_TOKEN", "legacy={v}", "xoxs-" + pick(DIG, 10) + "-" + pick(DIG, 11) + "-" + pick(DIG, 12) + "-" + pick(HEX, 20))
sp("SLACK_TOKEN", "token: {v}", "xoxo-" + pick(DIG, 9) + "-" + pick(DIG, 9) + "-" + pick(DIG, 9) + "-" + pick(HEX, 32))
sp("SLACK_TOKEN", "old workspace token {v}", "xoxa-" + pick(ALNUM, 24))
sp("SLACK_TOKEN", "refresh {v}", "xoxr-2-" + pick(ALNUM, 20))
sp("SLACK_TOKEN", "user token {v}", "xoxp-" + pick(DIG, 11) + "-" + pick(DIG, 11) + "-" + pick(DIG, 12) + "-" + pick(HEX, 32))
sn("SLACK_BOT_TOKEN={v}", "xoxb-your-bot-token")
sn("export SLACK_TOKEN={v}", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx")

# --- Sourcegraph / Sonar / Sumo Logic / Intra42 / 1Password ---------------------------------------------------
sp("SOURCEGRAPH_TOKEN", "SRC_ACCESS_TOKEN={v}", "sgp_" + pick(HEX, 16) + "_" + pick(HEX, 40))
sp("SOURCEGRAPH_TOKEN", "token {v}", "sgp_" + pick(HEX, 40))
sp("SOURCEGRAPH_TOKEN", "src login with {v}", "sgp_local_" + pick(HEX, 40))
sp("SOURCEGRAPH_TOKEN", "sourcegraph access token: {v}", pick(HEX, 40))
sp("SONARQUBE_TOKEN", "sonar.login={v}", pick(LO + DIG, 40))
sp("SONARQUBE_TOKEN", "SONAR_TOKEN: {v}", "sqp_" + pick(HEX, 40))
sp("SONARQUBE_TOKEN", "-Dsonar.token={v}", pick(LO + DIG, 40))
sp("SUMOLOGIC_ACCESS_ID", "SUMO_ACCESS_ID={v}", "su" + pick(ALNUM, 12))
sp("SUMOLOGIC_ACCESS_KEY", "SUMO_ACCESS_KEY={v}", pick(ALNUM, 64))
sp("SUMOLOGIC_ACCESS_KEY", "sumologic access key: {v}", pick(LO + DIG, 64))
sp("INTRA42_CLIENT_SECRET", "INTRA_SECRET={v}", "s-s4t2ud-" + pick(HEX, 64))
sp("INTRA42_CLIENT_SECRET", "client secret {v}", "s-s4t2af-" + pick(HEX, 64))
op = lambda: "A3-" + pick(UP + DIG, 6) + "-" + pick(UP + DIG, 11) + "-" + "-".join(pick(UP + DIG, 5) for _ in range(3))
sp("ONEPASSWORD_SECRET_KEY", "1Password secret key: {v}", op())
sp("ONEPASSWORD_SECRET_KEY", "OP_SECRET_KEY={v}",
   "A3-" + pick(UP + DIG, 6) + "-" + pick(UP + DIG, 6) + "-" + "-".join(pick(UP + DIG, 5) for _ in range(4)))
sn("git commit {v} fixed it", pick(HEX, 40))
sn("sonar.login={v}", "your-sonar-token")
sn("1Password secret key format: {v}", "A3-XXXXXX-XXXXXX-XXXXX-XXXXX-XXXXX-XXXXX")

# --- Facebook app tokens ---------------------------------------------------------------------------------
sp("FACEBOOK_ACCESS_TOKEN", "access_token={v}", pick("123456789", 1) + pick(DIG, 14) + "|" + pick(HEX, 32))
sp("FACEBOOK_ACCESS_TOKEN", "facebook app token {v}", pick("123456789", 1) + pick(DIG, 15) + "|" + pick(ALNUM + "-_", 27))
sp("FACEBOOK_ACCESS_TOKEN", "graph call with {v}", pick("123456789", 1) + pick(DIG, 14) + "%7C" + pick(HEX, 32))
sn("Columns: {v}", "123456789012345|name|email")

# --- UUID-shaped keys next to their keyword ---------------------------------------------------------------
sp("HEROKU_API_KEY", "HEROKU_API_KEY={v}", uuid())
sp("HEROKU_API_KEY", "heroku: {v}", uuid())
sp("HEROKU_API_KEY", "The Heroku API key is {v}", uuid())
sp("HEROKU_API_KEY", "heroku_auth_token = '{v}'", uuid())
sp("HUBSPOT_API_KEY", "HUBSPOT_API_KEY={v}", uuid(upper=True))
sp("HUBSPOT_API_KEY", "hubspot.api.key: {v}", uuid())
sp("HUBSPOT_API_KEY", "HubSpot private app token {v}", "pat-na1-" + uuid())
sp("SNYK_TOKEN", "SNYK_TOKEN={v}", uuid())
sp("SNYK_TOKEN", "snyk auth {v}", uuid())
sp("SNYK_TOKEN", "snyk_api_key: \"{v}\"", uuid())
sn("request id {v} failed", uuid())
sn("HEROKU_API_KEY={v}", "00000000-0000-0000-0000-000000000000")
sn("trace_id={v}", uuid())

# --- Stripe ------------------------------------------------------------------------------------------------
sp("STRIPE_API_KEY", "STRIPE_KEY={v}", "rk_live_" + pick(ALNUM, 24))
sp("STRIPE_API_KEY", "restricted key {v}", "rk_test_" + pick(ALNUM, 24))
sp("STRIPE_API_KEY", "stripe: {v}", "sk_live_" + pick(ALNUM, 24))
sp("STRIPE_API_KEY", "key {v}", "rk_live_" + pick(ALNUM, 99))
sp("STRIPE_API_KEY", "STRIPE_SECRET={v}", "sk_prod_" + pick(ALNUM, 30))
sn("Stripe docs example {v}", "sk_test_4eC39HqLyjWDarjtT1zdp7dc")
sn("STRIPE_KEY={v}", "rk_live_xxxxxxxxxxxxxxxxxxxxxxxx")

# --- Generic assignments with high-entropy values ------------------------------------------------------------
for t, v in [
    ("api_key = \"{v}\"", pick(ALNUM, 32)),
    ("API_TOKEN={v}", pick(ALNUM, 40)),
    ("\"apiKey\": \"{v}\"", pick(ALNUM + "_-", 36)),
    ("auth_token => '{v}'", pick(HEX, 32)),
    ("client_secret: {v}", pick(ALNUM, 28)),
    ("access_token := \"{v}\"", pick(ALNUM + ".", 48)),
    ("credentials = \"{v}\"", pick(ALNUM, 24)),
    ("mytool --api-key {v} --verbose", pick(ALNUM, 32)),
    ("export SERVICE_SECRET={v}", pick(ALNUM, 20)),
    ("X-Auth-Token: {v}", pick(ALNUM, 30)),
    ("app.secret_key = '{v}'", pick(ALNUM + "!@#$%", 26)),
    ("token: {v}", pick(ALNUM, 22)),
]:
    sp("GENERIC_API_KEY", t, v)
sn("api_key = \"{v}\"", "your_api_key_here")
sn("API_TOKEN={v}", "${API_TOKEN}")
sn("token = \"{v}\"", "aaaaaaaaaaaaaaaaaaaaaaaa")
sn("api_key: {v}", "abcdefghijklmnopqrstuvwxyz")
sn("apiKey = process.env.API_KEY", )
sn("client_secret: {v}", "<CLIENT_SECRET>")
sn("token_type: {v}", "bearer")
sn("api_version = {v}", "2023-10-16")
sn("public_key = \"{v}\"", "pk_live_" + "a" * 24)

# --- Credentials in prose ----------------------------------------------------------------------------------
aws_id = "AKIA" + pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
aws_secret = pick(ALNUM + "/+", 40)
S.add("Use key id {v} and secret {v} for the upload bucket.",
      ("AWS_ACCESS_KEY_ID", aws_id), ("AWS_SECRET_ACCESS_KEY", aws_secret), secret=True)
aws_id = "AKIA" + pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
aws_secret = pick(ALNUM + "/+", 40)
S.add("AWS creds: access key {v}, secret access key is {v}",
      ("AWS_ACCESS_KEY_ID", aws_id), ("AWS_SECRET_ACCESS_KEY", aws_secret), secret=True)
aws_id = "AKIA" + pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
aws_secret = pick(ALNUM + "/+", 40)
S.add("{v} / {v}", ("AWS_ACCESS_KEY_ID", aws_id), ("AWS_SECRET_ACCESS_KEY", aws_secret), secret=True)
for t, v in [
    ("The password is {v} until Friday.", pick(ALNUM, 10) + "!"),
    ("the wifi password is {v}", pick(LO, 5) + pick(DIG, 4) + pick(UP, 2)),
    ("Login as admin, password: {v}", pick(ALNUM, 12)),
    ("New pw for the VPN is {v}", pick(ALNUM, 9) + "$"),
    ("my password was {v} but I changed it", pick(UP, 1) + pick(LO, 6) + pick(DIG, 3) + "?"),
    ("Use passphrase {v} to unlock.", pick(LO, 6) + "-" + pick(LO, 5) + "-" + pick(DIG, 3)),
]:
    sp("PASSWORD", t, v)
for t, v in [
    ("Your token is {v}, keep it safe.", pick(ALNUM, 24)),
    ("Here is the API key: {v}", pick(ALNUM, 32)),
    ("I set the secret to {v} in staging.", pick(ALNUM, 28)),
]:
    sp("GENERIC_API_KEY", t, v)
sn("The password is {v} for every account.", "required")
sn("Password is too short; the token is {v}.", "expired")
sn("Enter the password: {v}", "********")
sn("The secret is {v} in the sauce.", "love")
sn("token: see {v}", "the docs")
sn("AWS key id {v} is the documented example", "AKIAIOSFODNN7EXAMPLE")
sn("aws_secret_access_key = {v}", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

# --- GCP placeholders and SDK examples ----------------------------------------------------------------------
sp("GCP_API_KEY", "GOOGLE_API_KEY={v}", "AIza" + pick(ALNUM + "_-", 35))
sp("GCP_API_KEY", "maps key {v}", "AIzaSy" + pick(ALNUM + "_-", 33))
sn("GOOGLE_API_KEY={v}", "AIzaSyabcdefghijklmnopqrstuvwxyz1234567")
sn("key: {v}", "AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX")
sn("apiKey: \"{v}\"", "AIzaSyA-EXAMPLE-KEY-0123456789abcdefgh")
sn("GOOGLE_API_KEY={v}", "AIzaSyDummyKeyForLocalTestingOnly12345")
sn("firebase apiKey: \"{v}\"", "AIzaSy" + "A" * 33)

# --- Sanity: provider formats that already worked ------------------------------------------------------------
sp("GITHUB_TOKEN", "export GITHUB_TOKEN={v}", "ghp_" + pick(ALNUM, 36))
sp("AWS_ACCESS_KEY_ID", "aws_access_key_id = {v}", "AKIA" + pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16))
sp("OPENAI_API_KEY", "OPENAI_API_KEY={v}", "sk-proj-" + pick(ALNUM + "_-", 74) + "T3BlbkFJ" + pick(ALNUM + "_-", 74))

S.write(os.path.join(HERE, "secrets.jsonl"))
print("pii: %d cases, secrets: %d cases" % (len(P.rows), len(S.rows)))
