"""Benchmarks: our way against the upstream sample's way, side by side on the local AWS.

`python -m benchmarks [staging] [annotations] [walkthrough]` (or `make bench`) runs them in a
local AWS of their own (a temporary state folder, stopped at the end), so a user's `.local-aws`
and a running test session are left alone. Each prints a small table and one summary line,
`<name>: ours <value> vs upstream <value> = <ratio>x`, where a ratio above 1 means ours is better.
"""
