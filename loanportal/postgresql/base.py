"""Django's PostgreSQL backend, with a health check that asks the server only when it has spoken.

With ``CONN_HEALTH_CHECKS``, Django checks a persistent connection before the first query of
each request by running ``SELECT 1``: a round trip that, on the customer timeline's repeat views,
cost about as much again as the one query the page needs. What that check catches is a connection
the server has ended: restarted, terminated by an administrator, timed out. In each case the
server's last message (an error, then the end of the stream) is waiting on the socket.

So this backend looks at the socket first. An idle connection with nothing to read has not been
ended by the server, and is used as it is; anything waiting (the server's farewell, a notice, a
closed socket) and any connection that is not idle gets Django's own check, as before. A server
that vanished without a word (a host switched off, a dropped route) fails the next query in both
cases: the ``SELECT 1`` would have waited for the network just the same.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and self._nothing_heard()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _nothing_heard(self) -> bool:
        """Whether the connection is open and idle, with nothing from the server waiting to be
        read since its last answer (poll errors and hang-ups count as something heard)."""
        connection = self.connection
        try:
            if connection.closed or connection.info.transaction_status != pq.TransactionStatus.IDLE:
                return False
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        except (AttributeError, OSError, ValueError, psycopg.Error):
            # No poll() on this platform, a bad descriptor, a connection psycopg calls broken.
            return False
