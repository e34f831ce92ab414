#!/usr/bin/env python3
"""Writes a CSV of N made-up employees for `tessera import employees`.

Usage: scripts/employees-csv.py N > employees.csv
The same N always gives the same file (fixed random seed).
"""
import csv
import random
import sys

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Katherine", "Donald", "Frances", "Tim", "Radia"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Johnson", "Knuth", "Allen", "Berners-Lee", "Perlman"]
COLUMNS = ["employee_number", "first_name", "last_name", "birth_date", "national_id", "email",
           "phone", "address", "start_date", "status", "iban", "bank_name"]


def main() -> None:
    count = int(sys.argv[1])
    rng = random.Random(7)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(COLUMNS)
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        out.writerow([
            f"E{n:07d}", first, last,
            f"{rng.randint(1960, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            f"NI{n:08d}", f"{first.lower()}.{last.lower()}.{n}@example.com",
            f"+44 20 7946 {n % 10000:04d}", f"{rng.randint(1, 200)} High Street, London",
            f"{rng.randint(2010, 2026)}-{rng.randint(1, 12):02d}-01",
            rng.choice(["active", "active", "active", "on_leave", "terminated"]),
            "GB33BUKB20201555555555", "Bank of Example",
        ])


if __name__ == "__main__":
    main()
