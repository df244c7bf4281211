"""Consumed events: the licence projection from stc.licensing.licence.v1."""
