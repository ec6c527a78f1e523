"""Where things are stored: raw files, validated datasets, schemas, params."""
