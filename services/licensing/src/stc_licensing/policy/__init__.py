"""Versioned, dated licensing policy files (YAML) shipped with the package; loaded by
`stc_licensing.domain.policy.load_bundled_policies`."""
