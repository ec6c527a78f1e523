"""params.yaml as a whole: checked against the data schema, and described."""
