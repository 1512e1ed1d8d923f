#!/bin/bash
# Run against kube-apiserver restarted with --watch-cache=false on the same etcd:
# watches then read etcd directly, so a compacted resourceVersion gives an ERROR 410 event.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
E="etcdctl --endpoints http://127.0.0.1:2379"
REV=$($E endpoint status -w json | jq '.[0].Status.header.revision')
OLD=$((REV - 5))
$E compact $REV >&2
for pair in "73-watch-nodes-compacted-rv-nocache-410|/api/v1/nodes?watch=1&resourceVersion=$OLD&timeoutSeconds=2" \
            "74-watch-nodes-rv0-nocache|/api/v1/nodes?watch=1&resourceVersion=0&allowWatchBookmarks=true&timeoutSeconds=2"; do
  id=${pair%%|*}; path=${pair#*|}
  code=$(curl -sS --cacert "$CACERT" -H "Authorization: Bearer $TOKEN" -N --max-time 5 -o "$RAW/$id.body" -w '%{http_code}' "$API$path")
  python3 "$HERE/normalize.py" "$id" GET "$path" "" - "$code" "$RAW/$id.body" watch "$OUT"
  echo "$id GET $path -> $code" >&2
done
