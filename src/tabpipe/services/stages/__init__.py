"""The seven DVC stages, one module each: parse nothing, run the stage, return its record."""
