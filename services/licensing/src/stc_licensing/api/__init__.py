"""gRPC API of the licensing service: servicer, proto <-> domain mapping, error mapping."""
