#!/usr/bin/env python3
"""Write bench/detect/holdout_person.jsonl: a second, held-out set for the PERSON detector.

Written after the detector and after `person.jsonl` was used to tune it, with names, sentence
shapes and negatives that are in neither that set nor the detector's word lists' tests, and
scored once before any change (`results-holdout-person-first-run.txt`). Nothing in the
detector may be tuned against this file; a change made after looking at its misses makes it a
tuning set, and the README must then say so.

Names: about a third common US/UK names (which real text has, and which the Census lists the
detector matches with contain), the rest Latin American, West/East/Southern African, Central
and Eastern European, Middle Eastern, South, South-East and East Asian names. Shapes: ticket
and CRM fields, CSV rows, JSON, meeting notes with several attendees, salutations, directory
lines, prose with pronouns. Negatives: capitalised products, companies, places and phrases,
including words that are also first names or surnames (Grace Period, Summer Sale, Baker
Street, Jenkins Pipeline, Hazel Grove). Fixed seed: `python3 bench/detect/holdout_person.py`
reproduces the file.
"""

from pathlib import Path

import person_sets

FIRST = """Jennifer Michael Sarah David Emily Robert Laura Kevin Rachel Brian Megan Steven
Alejandro Valentina Camila Santiago Ximena Joaquin Renata Emilio Luciana Mateo
Chinedu Ngozi Oluwaseun Adaeze Kwame Abena Tendai Wanjiru Thabo Nomvula Kofi Amara
Dmitri Svetlana Oksana Bogdan Radek Zuzana Milos Andrei Ioana Bence Zsofia Vesna
Farid Leila Yusuf Amira Omid Shirin Avi Noa Tariq Rania
Thanh Linh Minh Maricel Jomar Budi Sari Somchai Kanya Aarav Kavya Sanjay Meera
Jiahui Xiaoming Yifan Takeshi Ayumi Daisuke Hyun Jisoo""".split()

LAST = """Thompson Robinson Walker Hughes Bennett Foster Sullivan Coleman Harper Ellis
Gutierrez Castillo Morales Vargas Rojas Mendoza Salazar Aguilar
Okafor Adeyemi Mensah Boateng Mwangi Ndlovu Okonkwo Owusu Banda Dlamini
Petrov Ivanova Horvath Novak Dvorak Popescu Kovacs Szabo Marinescu Kuznetsov
Haddad Rahimi Khoury Cohen Levi Aziz Hosseini Nasser
Nguyen Tran Pham Santos Reyes Wijaya Suzuki Watanabe Liu Huang Gupta Mehta Krishnan
Srisuk Dela Cruz""".split()
# Two-word surnames are written as one entry below.
LAST = [l for l in LAST if l not in ("Dela", "Cruz")] + ["Dela Cruz"]

ONE = [
    "Per the call with {n}, the SOW needs a revised payment schedule.",
    "{n} (Legal) flagged clause 7.2 as non-standard.",
    "Assigned to: {n}\nStatus: In progress",
    "Owner: {n} | Priority: P2 | Due: Friday",
    "Approved-by: {n}",
    "I spoke to {n} yesterday and she confirmed the delivery date.",
    "The onboarding buddy for new hires in Lisbon is {n}.",
    "Please loop in {n} from Treasury before we sign.",
    "{n} will present the FY26 roadmap at the all-hands.",
    "Reviewer: {n}; second reviewer pending.",
    "Candidate {n} accepted the offer on 3 March.",
    "Complaint raised by {n} regarding a late refund.",
    "Ticket 4821 was reopened by {n} after the patch failed.",
    "Signed for and on behalf of Northwind Ltd: {n}, Finance Director",
    "{n} is on parental leave until September; contact the deputy instead.",
    "Shout-out to {n} for closing the Halden deal.",
    "employee_id,name,department\n10442,{n},Finance",
    '{{"ticket": 5530, "assignee": "{n}", "priority": "high"}}',
    "Sent by {n} on behalf of the Procurement team.",
    "Customer: {n}\nAccount tier: Gold\nRenewal: 2027-01-31",
]
PAIRS = [
    "{a} asked {b} to double-check the VAT figures.",
    "Attendees: {a}, {b} and the external auditors.",
    "{a} replaces {b} as the project sponsor from next quarter.",
    "Handover notes from {a} to {b} are in the shared drive.",
]
SHAPES = [
    ("Thanks,\n{f}", "f"),
    ("Dear {f},\nplease find the signed report attached.", "f"),
    ("Dear Mr {l},\nthank you for your quick reply.", "l"),
    ("Dear Dr. {l}, the trial protocol is attached.", "l"),
    ("{l}, {f} - Senior Analyst, Risk", "lf"),
    ("Escalated by {i}. {l} on the night shift.", "il"),
    ("Mrs {f} {l} called about her pension transfer.", "fl"),
]
NEG = [
    "The Change Advisory Board approved the Network Upgrade for Frankfurt.",
    "Download the Quarterly Earnings Deck from the Investor Relations Portal.",
    "Jira Service Management replaces the old Help Desk tool in March.",
    "Tesla Model Y and Ford Mustang were shortlisted for the fleet.",
    "General Electric and Johnson Controls submitted bids.",
    "Santa Clara, San Jose and Palo Alto offices close early on Friday.",
    "Mount Everest Capital closed its Series B round.",
    "Read the Acceptable Use Policy before using Slack Connect.",
    "Jenkins Pipeline failed at the Integration Test stage.",
    "Patch Tuesday updates go out to the Windows Server fleet.",
    "The Marketing Ops team moved to Salesforce Marketing Cloud.",
    "Christmas Eve and New Year's Day are company holidays.",
    "Baker Street and Oxford Circus stations are closed for works.",
    "Grace Period: invoices are due within thirty days.",
    "Summer Sale pricing ends in August.",
    "Sterling Bank and Barclays hold the payroll accounts.",
    "Use Microsoft Excel or Google Sheets for the template.",
    "Victoria Falls offsite agenda is attached.",
    "The Lean Six Sigma Green Belt course starts in April.",
    "Press Release: Northwind Appoints New Chief Financial Officer",
    "Cloud Run and Cloud Functions costs rose in Q2.",
    "Hazel Grove warehouse passed the fire inspection.",
    "Status: Waiting for Customer | Queue: Billing Disputes",
    "Assigned to: Platform Team\nStatus: Backlog",
    "Approved-by: Change Advisory Board",
    '{"ticket": 5531, "assignee": "Service Desk", "priority": "low"}',
    "employee_id,name,department\n10443,Vacant Position,Finance",
    "Dear Customer,\nyour order has shipped.",
    "Thanks,\nThe Payroll Team",
    "Best regards,\nCustomer Success",
]


def main() -> None:
    cases = person_sets.build(20261207, FIRST, LAST, ONE, PAIRS, SHAPES, NEG)
    person_sets.write(Path(__file__).with_name("holdout_person.jsonl"), cases)


if __name__ == "__main__":
    main()
