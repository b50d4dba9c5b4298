"""Django's PostgreSQL backend, for the embedded server: it starts (or joins) the server when the first connection
is opened, not when settings are imported (`ENGINE: mediasearch.db_backend`, set by settings when DATABASE_URL is
unset). settings_dict["PGDATA"] names the server's data folder; HOST (its socket folder) is filled in then."""

from __future__ import annotations

from pathlib import Path

from django.db import connections
from django.db.backends.postgresql import base, client

from mediasearch.db import embedded_socket_dir


class DatabaseClient(client.DatabaseClient):
    def runshell(self, parameters):
        self.connection.embedded_server_start()  # `manage.py dbshell` needs the socket folder too
        super().runshell(parameters)


class DatabaseWrapper(base.DatabaseWrapper):
    client_class = DatabaseClient

    def embedded_server_start(self) -> None:
        """Start or join the embedded server (once per process) and point this connection's settings at it, and
        the configured ones it may be a copy of (the test runner connects through copies), so that whatever reads
        settings_dict["HOST"] later (a child process's DATABASE_URL, pg_dump) finds the socket folder."""
        pgdata = self.settings_dict["PGDATA"]
        socket_dir = embedded_socket_dir(Path(pgdata))
        self.settings_dict["HOST"] = socket_dir
        for configured in connections.settings.values():
            if configured.get("PGDATA") == pgdata:
                configured["HOST"] = socket_dir

    def get_connection_params(self):
        # Every new connection (and a pool's, and the test runner's connection to the "postgres" database) asks
        # for its parameters here first.
        self.embedded_server_start()
        return super().get_connection_params()
