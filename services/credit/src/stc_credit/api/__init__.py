"""gRPC API of the credit service."""
