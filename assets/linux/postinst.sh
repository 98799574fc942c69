#!/bin/sh
# After the plantwatch package's files are in place (.deb postinst, .rpm %post): the collector's
# system user and /etc/plantwatch, then systemd learns of the unit. Running collectors are restarted
# on an upgrade, so they run the new binary. Nothing is enabled or started: a plant file comes first.
set -e
if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers plantwatch.conf
elif ! getent passwd plantwatch >/dev/null; then
  # No systemd-sysusers (a system without systemd): the same user by hand.
  useradd --system --user-group --home-dir /var/lib/plantwatch --no-create-home \
    --shell /usr/sbin/nologin --comment "Plantwatch collector" plantwatch
fi
if command -v systemd-tmpfiles >/dev/null 2>&1; then
  systemd-tmpfiles --create plantwatch.conf
else
  mkdir -p /etc/plantwatch
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
  # deb: "configure OLD-VERSION" on an upgrade; rpm: 2 or more installed copies.
  case "$1:$2" in
    configure:?*|[2-9]:*) systemctl try-restart 'plantwatch-collect@*.service' || true ;;
  esac
fi
exit 0
