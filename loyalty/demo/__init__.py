"""Demo programmes: a pack's programme brought to life with members, a year of trading and the
sweeps, all recorded through the service's own write path (`loyalty demo`).

Modules: `shop` (what the pack sells and declares), `yardstick` (what places members on the
pyramid), `profiles` (how each business's customers behave), `people` (the members and their
paths), `values` (event details), `plan` (the year, planned from the seed), `till` (the write
path), `runner` (the plan played on a simulated clock), `guard` (which databases may take a
demo), `observe` (what is read back), `build` and `summary`, and `command` (the CLI).
"""
