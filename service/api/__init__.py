"""The HTTP face: app factory and lifespan, routes, problem+json, middleware, OpenAPI, the request log."""
