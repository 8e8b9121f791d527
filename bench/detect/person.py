#!/usr/bin/env python3
"""Write bench/detect/person.jsonl: people's names in business prose, and near misses.

The names are NOT drawn from the Census lists the PERSON detector matches with
(policies/data/person_names.toml): they are UK, Irish, Nordic, Dutch, German, French, Italian,
Spanish, Portuguese, Polish, Greek, Turkish, Indian and East Asian names written for this set
(common names of those countries, as a Faker locale would produce them). Some of them are on the
Census lists too (Anna, Martin, Murphy), as they would be in real text; most first names are not.

Negatives are prose full of capitalised words that are not names: headings, product and
company names, months (May), places, sentence-initial words, first-name-like words (Will,
Grant, Rose, Bill). Fixed seed: `python3 bench/detect/person.py` reproduces the file.
"""

import json
import random
from pathlib import Path

FIRST = """Siobhan Aoife Niamh Ciaran Oisin Saoirse Padraig Eoin Ronan Cathal Rhys Gareth Cerys
Dylan Freya Isla Hamish Callum Eilidh Fraser Ewan Morag Lars Ingrid Sven Astrid Linnea Elin
Henrik Mette Kasper Soren Freja Anneke Willem Sander Joost Pieter Maarten Femke Sanne Jurgen
Bjorn Lukas Felix Katrin Anja Matthias Stefanie Tobias Florian Mathilde Guillaume Thibault
Amelie Margaux Benoit Elodie Matteo Giulia Francesca Lorenzo Alessandro Chiara Federica
Giorgio Luca Beatriz Joana Tiago Rui Ines Goncalo Mateus Pilar Inigo Alvaro Nerea Katarzyna
Piotr Tomasz Agnieszka Malgorzata Wojciech Dorota Kostas Eleni Dimitris Yannis Mehmet Elif
Emre Zeynep Priya Arjun Rohan Ananya Vikram Deepika Hiroshi Yuki Haruto Sakura Minjun Jiwoo
Wei Mei Oliver Harriet Imogen Rupert Tamsin Ottilie""".split()

LAST = """Gallagher Byrne Kavanagh Doherty Quinlan Nolan O'Brien Llewellyn Pritchard Evans
Morgan Cunningham Macdonald MacLeod Fraser Buchanan Lindqvist Johansson Nilsson Bergstrom
Haugland Nygaard Christensen Bakker Visser Jansen Vermeulen Smit Dekker Schneider Fischer
Weber Becker Hoffmann Richter Wagner Dubois Lefebvre Moreau Girard Fontaine Rousseau Rossi
Bianchi Esposito Ricci Marino Greco Conti Ferreira Oliveira Pereira Carvalho Almeida Garcia
Fernandez Navarro Iglesias Herrera Kowalski Nowak Wisniewski Wojcik Kaminska Lewandowski
Papadopoulos Nikolaidis Georgiou Yilmaz Demir Kaya Sharma Iyer Reddy Nair Banerjee Tanaka
Sato Nakamura Kim Park Choi Zhang Wang Chen Ashworth Pemberton Thistlethwaite Fairweather""".split()

PRE = [
    "Please forward the signed contract to {n} before Friday.",
    "The renewal was negotiated by {n} from the Dublin office.",
    "{n} approved the revised budget for the EMEA rollout.",
    "We met with {n} to review the Q3 pipeline.",
    "Our account manager, {n}, will join the call on Tuesday.",
    "Escalations go to {n}, who owns the vendor relationship.",
    "Action item: {n} to circulate the updated onboarding checklist.",
    "The audit findings were presented by {n} to the Risk Committee.",
    "Invoice queries should be sent to {n} in Accounts Payable.",
    "According to {n}, the migration is on track for March.",
    "{n} joined the Platform team as a senior engineer in January.",
    "Thanks to {n} for covering the on-call rotation last week.",
    "The customer contact is {n}; the billing contact has not been named.",
    "Minutes taken by {n}. Next review in six weeks.",
    "Interview panel: {n} and the hiring manager.",
    "Expense reports above EUR 500 need a second approval from {n}.",
    "If {n} is out, the deputy controller signs off instead.",
    "The Berlin workshop was run by {n} and went well.",
    "{n} raised a concern about the data retention clause.",
    "Reach out to {n} for access to the finance dashboard.",
]
TWO = [
    "{a} and {b} will co-lead the supplier review.",
    "The proposal was drafted by {a}, with comments from {b}.",
    "{a} handed the project over to {b} on Monday.",
]
SHAPES = [
    ("Dr {l} presented the clinical results.", "l"),
    ("Ms {l} will chair the steering group.", "l"),
    ("Mr. {f} {l} signed on behalf of the supplier.", "fl"),
    ("Prof. {l} reviewed the methodology.", "l"),
    ("From: {f} {l} <{e}@example.com>\nSubject: Contract renewal", "fl"),
    ("Kind regards,\n{f} {l}\nHead of Procurement", "fl"),
    ("Best regards,\n{f}", "f"),
    ("Hi {f},\nthe figures are attached.", "f"),
    ("Attendees (last name, first name): {l}, {f}", "lf"),
    ("The memo was countersigned by {i}. {l}.", "il"),
    ("cc: {f} {l}", "fl"),
]
NEG = [
    "In May the Grant Application Process moves to the new Procurement Portal.",
    "Will the Finance team close the books before the Board Meeting?",
    "Bill payments for the Rose Garden Hotel are processed by Accounts Payable.",
    "The Quarterly Business Review covers Customer Success and Product Marketing.",
    "Mark the Release Notes as final once Legal has signed off.",
    "Long Term Incentive Plan: Executive Summary and Key Results.",
    "Young Professionals Network meets in the Main Hall on Thursday.",
    "Install Microsoft Teams and Google Chrome on every new laptop.",
    "Amazon Web Services and Google Cloud Platform are both approved vendors.",
    "The Data Protection Officer reports to the Chief Operating Officer.",
    "Service Level Agreement, Appendix B: Support Hours and Response Times.",
    "Annual Leave Policy (United Kingdom and Republic of Ireland).",
    "Operations moved from Canary Wharf to the Manchester office in June.",
    "Deploy the Payment Gateway to Production after the Change Advisory Board.",
    "Power BI dashboards replace the Excel reports from April onwards.",
    "The Jordan Valley project and the Victoria Station refit are on hold.",
    "Sales Operations, Revenue Operations and Business Intelligence share one budget.",
    "Grant Thornton LLP audits the Northwind Trust accounts.",
    "Open the Incident Review template and fill in Root Cause and Next Steps.",
    "Security Awareness Training is mandatory for all Contractors and Interns.",
    "Frankfurt, Paris and Milan host the European Sales Kickoff.",
    "Sprint Planning happens every second Wednesday in the Ocean Room.",
    "Black Friday and Cyber Monday traffic peaked at noon.",
    "The Customer Advisory Board meets in Lisbon each September.",
    "Hope Street Capital and Chase Bank hold the escrow accounts.",
    "Read the Employee Handbook, section Travel and Expenses.",
    "Royal Mail collects outbound parcels from the Loading Bay.",
    "New Starters: complete the Welcome Survey in Workday by Friday.",
    "Summer Interns start on Monday in the Design Studio.",
    "Golden Gate Bridge imagery is licensed from Getty Images.",
    "The North Star Metric for Q4 is Weekly Active Accounts.",
    "Apple Pay and Google Pay are enabled in the Mobile App.",
    "Crystal Reports exports are replaced by Tableau Server.",
    "Austin, Dallas and Houston offices follow Central Time.",
    "Rocky Mountain Logistics ships from the Denver Distribution Center.",
    "Visual Studio Code is the default editor for the Platform Guild.",
    "Christian Democratic parties won in both regions.",
    "Victoria Line delays affected the London office on Tuesday.",
    "Angel Investors Forum, Lincoln Center, Madison Square Garden.",
    "Deliver the Ford Transit vans to the Bristol depot.",
]


def main() -> None:
    rng = random.Random(20260214)
    cases = []

    def name(parts):
        f, l = rng.choice(FIRST), rng.choice(LAST)
        return {"f": f, "l": l, "i": f[0], "e": f.lower()}

    def add(text, names):
        spans = []
        pos = 0
        for n in names:
            s = text.index(n, pos)
            spans.append({"start": len(text[:s].encode()), "end": len(text[: s + len(n)].encode()), "entity": "PERSON"})
            pos = s + len(n)
        cases.append({"text": text, "spans": spans})

    for t in PRE:
        for _ in range(3):
            n = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            add(t.format(n=n), [n])
    for t in TWO:
        for _ in range(3):
            a = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            b = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            add(t.format(a=a, b=b), [a, b])
    for t, parts in SHAPES:
        for _ in range(3):
            v = name(parts)
            text = t.format(**v)
            gold = {"l": v["l"], "fl": f"{v['f']} {v['l']}", "f": v["f"], "lf": f"{v['l']}, {v['f']}", "il": f"{v['i']}. {v['l']}"}[parts]
            add(text, [gold])
            if "<" in text:
                e = f"{v['e']}@example.com"
                s0 = text.index(e)
                cases[-1]["spans"].append({"start": s0, "end": s0 + len(e), "entity": "EMAIL_ADDRESS"})
    for t in NEG:
        cases.append({"text": t, "spans": []})
    out = Path(__file__).with_name("person.jsonl")
    out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    print(f"{out}: {len(cases)} cases, {sum(len(c['spans']) for c in cases)} names")


if __name__ == "__main__":
    main()
