"""The models we run, as a plain library (no Django models; imports neither gallery nor search)."""
