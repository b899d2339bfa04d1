"""Types, errors, time and buffers shared by every stage (no Qt, no I/O)."""
