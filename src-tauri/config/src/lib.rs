//! Plant config: TOML text to a validated Plant, with file:line:col errors
