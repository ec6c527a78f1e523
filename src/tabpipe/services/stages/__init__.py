"""The seven DVC stages, one module each: check the params, run the stage on its engine."""
