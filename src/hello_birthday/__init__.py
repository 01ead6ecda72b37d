"""Hello Birthday: store dates of birth and greet people."""
