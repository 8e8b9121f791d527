#!/usr/bin/env python3
"""Write bench/detect/holdout_person2.jsonl: a third, held-out set for the PERSON detector.

`person.jsonl` tuned the detector (session 7); `holdout_person.jsonl` was scored once (session
11, `results-holdout-person-first-run.txt`) and then showed the misses that the Faker name lists
were added for, so it is a tuning set too. This set was written after that change, with names,
sentence shapes and negatives in neither set, and scored once before any further change
(`results-holdout-person2-first-run.txt`). Do not tune the detector against it.

Names: a mix as internal documents have them — about a third US/UK names, the rest from
Brazil, Mexico, Nigeria, Ghana, Kenya, Ethiopia, Egypt, Morocco, Iran, Israel, Ukraine,
Czechia, Hungary, Serbia, Portugal, the Netherlands, Scandinavia, India, Pakistan, Bangladesh,
Vietnam, the Philippines, Indonesia, China, Japan and Korea. Shapes: HR and CRM notes,
incident reviews, calendar invites, chat messages, bullet lists, Markdown tables, sign-offs with
titles. Negatives: places, events, products, publications and phrases with capitalised words,
some of which are also names. Fixed seed: `python3 bench/detect/holdout_person2.py`.
"""

from pathlib import Path

import person_sets

FIRST = """Ashley Joshua Nicole Tyler Heather Justin Amanda Ryan Lauren Eric Olivia George
Gabriela Rodrigo Fernanda Leonardo Mariana Diego Paola Arturo Daniela Eduardo
Emeka Funmilayo Babajide Chiamaka Yaw Efua Njeri Otieno Tsegaye Selam Karim Nadia
Youssef Samira Reza Parisa Yael Itai Olena Taras Petra Jakub Eszter Gabor Nikola Jelena
Duarte Leonor Maarten Lotte Anders Sigrid Rahul Divya Imran Ayesha Tanvir Nusrat
Quang Huong Paolo Kristine Agus Dewi Zhiwei Xiu Kenji Haruka Dongho Eunji""".split()

LAST = """Mitchell Patterson Russell Griffin Hayes Morrison Fletcher Barker Chapman Lawson
Oliveira Souza Barbosa Hernandez Ramirez Cervantes Eze Obi Adebayo Asante Ofori Kamau
Wanjiku Tesfaye Bekele Mansour Farouk Benali Tehrani Mohammadi Friedman Shapiro Shevchenko
Bondarenko Svoboda Prochazka Nagy Farkas Jovanovic Petrovic Teixeira Magalhaes Jansen
De Boer Lindgren Halvorsen Agarwal Chatterjee Qureshi Siddiqui Rahman Chowdhury Hoang
Vu Bautista Mendoza Santoso Hartono Zhou Xu Yamamoto Kobayashi Jung Yoon""".split()
LAST = [l for l in LAST if l not in ("De", "Boer")] + ["de Boer"]

ONE = [
    "HR note: {n} requested flexible hours from October.",
    "Lead owner changed to {n} after the territory split.",
    "Incident commander: {n}. Scribe: not assigned.",
    "Calendar: Pipeline review with {n}, 14:00-14:30, Room 4B",
    "[09:12] {n}: deploy is green, closing the change.",
    "- {n} (Procurement) to confirm the purchase order",
    "| Payroll | {n} | on leave |",
    "We are pleased to welcome {n}, our new Head of Data.",
    "Root cause was identified by {n} within two hours.",
    "{n} recommended pausing the campaign until the audit is done.",
    "The vendor's account director, {n}, confirmed the discount.",
    "Please send the draft to {n} and copy the legal inbox.",
    "Exit interview scheduled with {n} for next Thursday.",
    "Expense claim 7781 submitted by {n} is missing a receipt.",
    "{n} and her team will migrate the reporting jobs.",
    "Contract countersigned by {n} on 12 May.",
    "Name: {n}\nRole: Data Protection Officer",
    "Feedback from {n}: the onboarding flow is too long.",
    "Our thanks go to {n} for organising the offsite.",
    "Panel interview: {n} will assess system design.",
]
PAIRS = [
    "{a} will pair with {b} on the tax migration.",
    "Decision owners: {a} (budget) and {b} (timeline).",
    "{a} introduced {b} to the client's security team.",
    "On-call this week: {a}; backup: {b}.",
]
SHAPES = [
    ("Cheers,\n{f}", "f"),
    ("Hello {f}, the access request is approved.", "f"),
    ("Ms {l} from the auditors asked for the ledger export.", "l"),
    ("Prof {l} will give the keynote.", "l"),
    ("{f} {l}\nSenior Counsel\nNorthwind Ltd", "fl"),
    ("Reported by {i}. {l} during the night batch.", "il"),
    ("Surname, first name: {l}, {f}", "lf"),
]
NEG = [
    "The Paris Agreement targets apply to the Scope 3 report.",
    "Harvard Business Review published the case study in June.",
    "The Melbourne Cup falls on a Tuesday this year.",
    "Georgia Tech and Purdue University joined the research program.",
    "Holly Springs office is closed for the Independence Day weekend.",
    "Jackson Hole retreat: travel is booked through Concur.",
    "The Golden State Warriors suite is reserved for client hospitality.",
    "Use Adobe Acrobat to sign the Statement of Work.",
    "Zoom Rooms replace the old Polycom units in Building C.",
    "Oracle Cloud Infrastructure credits expire in November.",
    "The Sydney Opera House event is sold out.",
    "Mercedes Benz Arena hosts the partner summit.",
    "Lake Geneva and Lake Como offsites are both under budget.",
    "Red Hat Enterprise Linux is the standard server image.",
    "The Wall Street Journal quoted our quarterly guidance.",
    "Standard Chartered and Deutsche Bank cleared the payment.",
    "Rose Bowl tickets were raffled at the staff party.",
    "Ruby on Rails services are being moved to Go.",
    "Crown Jewels data sets need the highest classification.",
    "Hope Valley distribution centre reopened on Monday.",
    "Iris Recognition access is enabled at the Data Centre entrance.",
    "Sales Kickoff Lisbon: agenda, hotel and dress code.",
    "The Kingston Upon Thames branch moved to new premises.",
    "Jade Garden catering serves the Thursday lunch.",
    "Assigned to: Data Engineering\nStatus: Blocked",
    "Owner: Finance Systems | Priority: P3",
    "| Payroll | Vacant | recruiting |",
    "Name: Shared Mailbox\nRole: Accounts Receivable",
    "Cheers,\nThe Events Team",
    "Hello Team, the access request is approved.",
]


def main() -> None:
    cases = person_sets.build(2026120702, FIRST, LAST, ONE, PAIRS, SHAPES, NEG)
    person_sets.write(Path(__file__).with_name("holdout_person2.jsonl"), cases)


if __name__ == "__main__":
    main()
