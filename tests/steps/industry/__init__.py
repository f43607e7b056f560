"""Step definitions shared by the industry packs' specs, grouped by concept."""
