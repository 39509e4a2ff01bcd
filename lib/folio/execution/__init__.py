"""Execution backends behind one small interface, and the jobs callers hold."""
