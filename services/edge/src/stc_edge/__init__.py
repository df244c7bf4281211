"""The edge: one origin and port in front of the four services for browsers and JSON clients."""
