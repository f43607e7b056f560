"""The packs' living specs, each run against its own rules folder."""
