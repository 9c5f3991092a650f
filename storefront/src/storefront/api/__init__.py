"""HTTP layer: routers per resource, request/response schemas, error handlers and middleware."""
