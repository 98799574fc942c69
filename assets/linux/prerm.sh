#!/bin/sh
# Before the plantwatch package is removed (.deb prerm, .rpm %preun): stop and disable the collectors,
# which would otherwise go on running a deleted binary. Each stop stores what it still holds.
# The plant files (/etc/plantwatch) and the history (/var/lib/plantwatch) are the users' and stay.
set -e
case "$1" in
  remove|0)
    if [ -d /run/systemd/system ]; then
      systemctl stop 'plantwatch-collect@*.service' || true
    fi
    # Enabled instances are symlinks in /etc; remove them so no boot looks for a missing unit.
    rm -f /etc/systemd/system/multi-user.target.wants/plantwatch-collect@*.service
    ;;
esac
exit 0
