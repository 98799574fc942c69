#!/bin/sh
# After the plantwatch package's files are gone (.deb postrm, .rpm %postun): systemd forgets the unit.
# The plantwatch user, /etc/plantwatch and /var/lib/plantwatch stay: they hold the plants' files and
# history, which belong to the users, not to the package (removing them is a person's decision).
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
exit 0
