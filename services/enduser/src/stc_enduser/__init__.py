"""The end-user service (stc.enduser.v1.EndUserService).

Owns change reports about a licence's end user or end use (ECL Art. 16, Regulations Art. 25)
and end-use checks (ECL Art. 17). `domain/` holds the pure rules; the database, Kafka and gRPC
adapters are wired around it.
"""
