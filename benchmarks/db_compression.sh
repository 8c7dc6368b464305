#!/usr/bin/env bash
# Compare dump + compression choices for the mysql and postgres snapshot components.
# Usage: benchmarks/db_compression.sh [pg_database] [mysql_database]   (defaults: rbbench rbbench)
# Needs a local PostgreSQL (trust, user postgres) and MariaDB (root, no password).
# The figures in docs/snapshots-db.md come from 1.3 M rows made like this:
#   psql -h 127.0.0.1 -U postgres -c 'create database rbbench'
#   psql -h 127.0.0.1 -U postgres rbbench -c "create table orders as select g as id,
#     (g % 1000) as customer, md5(g::text) || ' ' || md5((g*7)::text) || ' order note ' || (g%97)
#     as note, decode(md5((g*3)::text), 'hex') || decode(md5((g*5)::text), 'hex') as blob,
#     now() - (g || ' seconds')::interval as created, (g * 1.37)::numeric(12,2) as amount
#     from generate_series(1, 1300000) g"
#   mariadb -h127.0.0.1 -uroot -e "create database rbbench; use rbbench; create table orders
#     (id int primary key, customer int, note varchar(200), blob_ varbinary(64), created datetime,
#     amount decimal(12,2)); insert into orders select seq, seq % 1000, concat(md5(seq), ' ',
#     md5(seq*7), ' order note ', seq % 97), unhex(concat(md5(seq*3), md5(seq*5))),
#     now() - interval seq second, seq * 1.37 from seq_1_to_1300000"
set -euo pipefail
PGDB=${1:-rbbench}
MYDB=${2:-rbbench}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
PG=(-h 127.0.0.1 -U postgres)
MY=(-h127.0.0.1 -uroot)
MYOPTS=(--single-transaction --routines --events --triggers --hex-blob --default-character-set=utf8mb4)

measure() {  # measure <label> <output file> <command...>
  local label=$1 file=$2; shift 2
  local start end
  start=$(date +%s.%N)
  bash -c "$*" > "$file"
  end=$(date +%s.%N)
  printf '%-34s %7.2f s %9.1f MB\n' "$label" "$(echo "$end - $start" | bc)" \
    "$(echo "$(stat -c %s "$file") / 1000000" | bc -l)"
}

echo "PostgreSQL $PGDB: $(psql "${PG[@]}" -Atc "select pg_size_pretty(pg_database_size('$PGDB'))")"
measure "pg_dump -Fc -Z0 (raw)" "$OUT/raw.pgdump" "pg_dump ${PG[*]} -Fc -Z0 $PGDB"
measure "pg_dump -Fc (zlib default)" "$OUT/zlib.pgdump" "pg_dump ${PG[*]} -Fc $PGDB"
for level in 1 3 6; do
  measure "pg_dump -Fc -Z0 | zstd -$level" "$OUT/z$level.zst" "pg_dump ${PG[*]} -Fc -Z0 $PGDB | zstd -q -$level"
done

restore_time() {  # restore_time <label> <command...>
  local label=$1; shift
  local start end
  start=$(date +%s.%N)
  bash -c "$*" > /dev/null
  end=$(date +%s.%N)
  printf '%-34s %7.2f s\n' "$label" "$(echo "$end - $start" | bc)"
}
restore_time "pg_restore -1 --clean -d (raw)" \
  "pg_restore ${PG[*]} --clean --if-exists --single-transaction -d $PGDB $OUT/raw.pgdump"

echo "MariaDB $MYDB"
measure "mariadb-dump (raw)" "$OUT/raw.sql" "mariadb-dump ${MY[*]} ${MYOPTS[*]} $MYDB"
measure "mariadb-dump | gzip (-6)" "$OUT/my.gz" "mariadb-dump ${MY[*]} ${MYOPTS[*]} $MYDB | gzip"
measure "mariadb-dump | gzip -1" "$OUT/my1.gz" "mariadb-dump ${MY[*]} ${MYOPTS[*]} $MYDB | gzip -1"
for level in 1 3 6; do
  measure "mariadb-dump | zstd -$level" "$OUT/my$level.zst" "mariadb-dump ${MY[*]} ${MYOPTS[*]} $MYDB | zstd -q -$level"
done
restore_time "mariadb < dump (raw)" "mariadb ${MY[*]} $MYDB < $OUT/raw.sql"
