"""Development tools that write the platform's API documents from the protos: the AsyncAPI
document of the events (docs/asyncapi/) and the OpenAPI document of the edge's JSON routes
(docs/openapi/). They read the source checkout (protos/), so they live outside the runtime
packages the services are deployed with (issue 13)."""
