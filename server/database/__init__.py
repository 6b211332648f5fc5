"""The database beneath the models: the migrations and their runner (Alembic), the triggers that make
evidence tables append-only, and the group commit that lets many small inserts share one commit.
The engine itself is bound in server.extensions (Flask's init_app pattern)."""
