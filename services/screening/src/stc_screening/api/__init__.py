"""gRPC API of the screening service."""
