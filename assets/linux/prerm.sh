#!/bin/sh
# Before the plantwatch package is removed (.deb prerm, .rpm %preun): stop the collectors, which would
# otherwise go on running a deleted binary. Each stop stores what it still holds. The plant files
# (/etc/plantwatch), the history (/var/lib/plantwatch) and which instances are enabled are the users'
# and stay: installing the package again resumes collecting where it was.
set -e
case "$1" in
  remove|0)
    if [ -d /run/systemd/system ]; then
      systemctl stop 'plantwatch-collect@*.service' || true
    fi
    ;;
esac
exit 0
