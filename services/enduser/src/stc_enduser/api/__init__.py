"""gRPC API of the end-user service (stc.enduser.v1.EndUserService)."""
