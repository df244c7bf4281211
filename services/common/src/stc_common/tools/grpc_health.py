"""Exit 0 when the gRPC server on --port answers its health check SERVING.

For container health checks (docker-compose.yml).
"""

from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from stc_common.grpc.client import TlsSettingsError, sync_channel


def main() -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--service", default="")
    a = p.parse_args()
    try:
        with sync_channel(f"{a.host}:{a.port}") as ch:  # TLS when STC_TLS_CA_FILE is set
            r = health_pb2_grpc.HealthStub(ch).Check(
                health_pb2.HealthCheckRequest(service=a.service), timeout=3
            )
    except grpc.RpcError as exc:
        print(f"unhealthy: {exc.code().name}", file=sys.stderr)
        return 1
    except TlsSettingsError as exc:
        print(f"misconfigured: {exc}", file=sys.stderr)
        return 2
    print(health_pb2.HealthCheckResponse.ServingStatus.Name(r.status))
    return 0 if r.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
