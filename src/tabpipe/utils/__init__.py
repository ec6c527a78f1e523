"""Small cross-cutting helpers: logging setup, atomic writes, hashing."""
