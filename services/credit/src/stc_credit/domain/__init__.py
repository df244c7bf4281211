"""Pure domain layer of the credit service: no I/O, no protobuf, no database.

Modules: `penalties` (the statutory sanction table, data in `data/penalties.yaml`),
`records` (credit records, measures, cases awaiting an officer, Art. 39 bans),
`publication` (deadlines, publicity periods, credit repair, the published view),
`standing` (credit standing), `merkle` (RFC 6962 tree and proofs), `canonical` (log entry
bytes) and `checkpoint` (C2SP signed-note checkpoints).
"""
