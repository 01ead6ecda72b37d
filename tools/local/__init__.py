"""Real things started locally for tests, rehearsal and bench: dynalite, the server, ports."""
