"""HTTP only: request and response schemas, routes, dependencies and error mapping."""
