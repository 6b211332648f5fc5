"""Exports (考勤表, hour logs, subsidy decisions, the JS filing pack, certificates) and signed
evidence bundles: one feature package on top of services and models, which never import it.

service.py       the use cases: export a class or a district (scope, role, one snapshot, chain
                 heads, the signed bundle), seal a subsidy export, and the background jobs
                 (start, run in a thread, progress, wait at shutdown, download until expiry)
kinds.py         the registry of kinds (class, subsidy, js_filing, certificates; district), one
                 builder each, which writes that kind's files
filing.py        what the JS filing records: assessment results, certificate numbers, group photos
housekeeping.py  jobs no live process owns, expired bundles, abandoned temp dirs
data.py          streams one row set per trainee from the database (the ledger's own computation)
tables.py        turns those into the tables people read (headers + cells, Chinese labels; a
                 `Shown` cell is Chinese for people, its code for the machine-readable CSV)
writers.py       CSV (UTF-8 with BOM) and XLSX (openpyxl write-only) sinks, constant memory;
                 XLSX column widths measured as the rows stream and set when the book is saved
pdf.py           printable PDFs with Chinese text: 考勤表 (running head, 编号 and page x/y,
                 signature and stamp block) and certificates
fonts.py         Noto Sans SC (PyPI) at its regular weight, instanced once and cached
names.py         Chinese file names with the class (or district) name and the date
signing.py       the deployment's Ed25519 key (created on first use, private file 0600)
bundle.py        zip + manifest.json (SHA-256 of every file, chain heads) + signature; verification
"""
