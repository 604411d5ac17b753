"""The operator console: pages served at ``/`` by the campaign process (see README.md)."""
