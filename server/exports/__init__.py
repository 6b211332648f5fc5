"""Exports (考勤表, hour logs, subsidy decisions, the JS filing pack, certificates) and signed
evidence bundles.

data.py      streams one row set per trainee from the database (the ledger's own computation)
tables.py    turns those into the tables people read (headers + cells, Chinese labels)
writers.py   CSV (UTF-8 with BOM) and XLSX (openpyxl write-only) sinks, constant memory
pdf.py       printable PDFs with Chinese text (Noto Sans SC from PyPI): 考勤表 and certificates
signing.py   the deployment's Ed25519 key (created on first use, private file 0600)
bundle.py    zip + manifest.json (SHA-256 of every file, chain heads) + signature; verification
"""
