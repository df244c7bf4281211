"""Credit service of the STC licensing platform.

Owns enterprise credit records (Export Control Law 2020, Arts. 33-39), their publication on
the enterprise credit publicity feed within 20 working days, the append-only tamper-evident
publication log (RFC 6962 Merkle tree, C2SP signed checkpoints) and each exporter's credit
standing, which licensing uses as Art. 13 factor 7 and for the Art. 39 five-year ban.
"""
