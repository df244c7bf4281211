"""Data tables shipped with the screening service (finding texts, red flags of diversion)."""
