"""Versioned, dated licensing policy files (YAML) shipped with the package, and the default
UN Security Council arms-embargo table (`unsc_arms_embargoes.csv`, a copy of the shared data
set); loaded by `stc_licensing.policy_files.load_bundled_policies` and
`bundled_embargoes_path`."""
