"""What is sent to a running server and read back: traffic (traffic.py), the scenarios
(scenarios.py), the lifecycle edges' scenarios (lifecycle_scenarios.py) and the
connections they hold open across a stop (held.py), the pattern starts
(pattern_starts.py)."""
