#!/bin/sh
# summary.sh RESULTS_DIR START_EPOCH NAME... - one line per port variant
# (its "N passed, N failed" line, or why there is none) and the total.
dir=$1 start=$2; shift 2
echo "== ports summary"
p=0; f=0; missing=0
for name in "$@"; do
  line=$(tail -n 1 "$dir/$name.txt" 2>/dev/null | tr -d '\r')
  case $line in
  *" passed, "*" failed"*)
    set -- $line
    p=$((p + $1)); f=$((f + $3))
    [ "$3" = 0 ] && status=ok || status=FAIL ;;
  *) line="no result (build failed or crashed, see above)"; status=FAIL; missing=$((missing + 1)) ;;
  esac
  printf '  %-28s %-4s %s\n' "$name" "$status" "$line"
done
printf 'ports: %d passed, %d failed, %d without a result, in %ds\n' \
  "$p" "$f" "$missing" "$(( $(date +%s) - start ))"
