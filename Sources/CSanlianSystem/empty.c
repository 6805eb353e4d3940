// Intentionally empty: CSanlianSystem is header-only.
