#!/bin/sh
# Write the signing keys from environment variables (CI secrets) into files readable by
# this user only, and a --var-file naming them.  Never echo a key.
set -eu
dir="$1"
mkdir -p "$dir"
umask 077
for name in owner payer oracle1 oracle2 oracle3; do
  var=$(echo "$name" | tr a-z A-Z)
  eval "value=\${$var:-}"
  if [ -z "$value" ]; then echo "missing secret for $name" >&2; exit 2; fi
  printf '%s\n' "$value" > "$dir/$name.skey"
  printf '%s_skey: %s\n' "$name" "$dir/$name.skey" >> "$dir/vars.yaml"
done
