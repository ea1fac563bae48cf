#!/bin/sh
# Back up the database and the files it needs into DIR (docs/deploy.md, "Backups and restore").
# Reads the service's settings from the environment:
#   set -a; . /etc/helpdesk/helpdesk.env; set +a; deploy/backup.sh /var/backups/helpdesk/$(date +%F)
# The database is dumped first, then the files: an attachment the dump refers to was written
# before its ticket was committed, so it is in the archive.
set -eu

out=${1:?usage: backup.sh DIR}
var_dir=${HELPDESK_VAR_DIR:?HELPDESK_VAR_DIR is not set}
dkim_dir=${DKIM_KEY_DIR:-$var_dir/dkim}
database_url=${DATABASE_URL:-sqlite:///$var_dir/helpdesk.db}

umask 077
mkdir -p "$out"
case "$database_url" in
  postgresql*)
    pg_dump --format=custom --no-owner --file="$out/database.dump" \
      "postgresql:${database_url#*:}"
    ;;
  sqlite:///*)
    sqlite3 "${database_url#sqlite:///}" ".backup '$out/helpdesk.db'"
    ;;
  *)
    echo "backup.sh: cannot back up DATABASE_URL of this kind" >&2
    exit 2
    ;;
esac

# Keys generated into the var dir (absent when SECRET_KEY and SENSITIVE_MASTER_KEY are set in
# the environment file, which is then backed up with the other secrets), attachments and the
# quarantine. Redis, the dev mail store and the metrics directory hold nothing to keep.
files=""
for name in secret_key sensitive_master_key attachments mail-in; do
  [ -e "$var_dir/$name" ] && files="$files $name"
done
# shellcheck disable=SC2086 # the names are ours, without spaces
tar -C "$var_dir" -cf "$out/files.tar" $files
tar -C "$dkim_dir" -cf "$out/dkim.tar" .
echo "backup.sh: $out"
