"""grpc.aio server bootstrap, interceptors and error mapping."""
