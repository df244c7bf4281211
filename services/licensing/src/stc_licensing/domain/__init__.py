"""The pure domain layer of the licensing service: frozen dataclasses, state enums and pure
functions (validation, routing, state machine, statutory clock, policy, the Art. 13
assessment, licences). No I/O beyond reading policy files handed in by path; no protobuf,
no database, no Kafka."""
