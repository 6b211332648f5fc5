"""What the services use but do not decide: the evidence file store (content-addressed photos and
frames), the pool of face processes, and password hashing. Each wraps one outside library or the
file system behind a small interface the services call."""
