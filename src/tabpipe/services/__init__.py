"""Stage logic. Services know nothing of typer, DVC or the terminal."""
