#!/bin/sh
# Restore a backup of deploy/backup.sh from DIR into the configured database and directories
# (docs/deploy.md, "Backups and restore"). Stop the service first; the database must exist
# and is overwritten, the files are written into HELPDESK_VAR_DIR and DKIM_KEY_DIR.
set -eu

backup=${1:?usage: restore.sh DIR}
var_dir=${HELPDESK_VAR_DIR:?HELPDESK_VAR_DIR is not set}
dkim_dir=${DKIM_KEY_DIR:-$var_dir/dkim}
database_url=${DATABASE_URL:-sqlite:///$var_dir/helpdesk.db}

umask 077
mkdir -p "$var_dir" "$dkim_dir"
case "$database_url" in
  postgresql*)
    pg_restore --clean --if-exists --no-owner --exit-on-error \
      --dbname="postgresql:${database_url#*:}" "$backup/database.dump"
    ;;
  sqlite:///*)
    cp "$backup/helpdesk.db" "${database_url#sqlite:///}"
    ;;
  *)
    echo "restore.sh: cannot restore DATABASE_URL of this kind" >&2
    exit 2
    ;;
esac
tar -C "$var_dir" -xf "$backup/files.tar"
tar -C "$dkim_dir" -xf "$backup/dkim.tar"
echo "restore.sh: restored from $backup"
