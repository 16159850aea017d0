#!/bin/sh
# Run a command the way systemd runs a service whose stderr goes to the
# journal: JOURNAL_STREAM names the stream stderr is connected to. Used under
# systemd-cat, which connects the streams but does not set the variable.
JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2)
export JOURNAL_STREAM
exec "$@"
