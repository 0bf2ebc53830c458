"""Control surfaces: OSC over UDP (osc.py) and its OSCQuery description (oscquery.py), both
driving the daemon through `Controls` (commands.py)."""
