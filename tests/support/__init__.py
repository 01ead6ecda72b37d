"""Real components the tests start: dynalite and the server process."""
