"""JWT bearer-token auth: principals, roles, development keys."""
