"""The typer command line: parse arguments, call one service, map errors to exit codes."""
