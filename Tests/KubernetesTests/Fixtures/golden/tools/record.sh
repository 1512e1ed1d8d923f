#!/bin/bash
# record.sh: replays the golden session against API ($API) with bearer $TOKEN, CA $CACERT,
# writing normalized exchanges to $OUT and raw bodies to $OUT/../raw-$(basename $OUT).
# $COMPACT is a shell command that compacts the backing etcd at its current revision.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
RAW=${RAW:-$OUT/../raw-$(basename "$OUT")}
mkdir -p "$OUT" "$RAW"
N=0
curlx() { curl -sS --cacert "$CACERT" -H "Authorization: Bearer $TOKEN" "$@"; }

# req NAME METHOD PATH [BODY] [CONTENT-TYPE] [FILTER]
req() {
  local name=$1 method=$2 path=$3 body=${4:-} ctype=${5:-} flt=${6:-}
  N=$((N+1)); local id=$(printf "%02d-%s" $N "$name")
  local args=(-X "$method" -o "$RAW/$id.body" -w '%{http_code}')
  local bf=-
  if [ -n "$body" ]; then
    bf="$RAW/$id.req"; printf '%s' "$body" > "$bf"
    [ -z "$ctype" ] && ctype=application/json
    args+=(-H "Content-Type: $ctype" --data-binary "@$bf")
  fi
  local code; code=$(curlx "${args[@]}" "$API$path")
  local kind=json; case "$path" in *watch=1*) kind=watch;; esac
  python3 "$HERE/normalize.py" "$id" "$method" "$path" "$ctype" "$bf" "$code" "$RAW/$id.body" $kind "$OUT" "$flt"
  echo "$id $method $path -> $code" >&2
  LAST="$RAW/$id.body"
}
# watch_start NAME PATH SECONDS (background); watch_end NAME waits and normalizes
declare -A WPID WPATH WFILE
watch_start() {
  N=$((N+1)); local id=$(printf "%02d-%s" $N "$1")
  WPATH[$1]=$2; WFILE[$1]="$RAW/$id"
  ( curlx -N --max-time "$3" -o "$RAW/$id.body" -w '%{http_code}' "$API$2" > "$RAW/$id.code" 2>/dev/null ) &
  WPID[$1]=$!
}
watch_end() {
  wait "${WPID[$1]}"; local f=${WFILE[$1]} id=$(basename "${WFILE[$1]}")
  python3 "$HERE/normalize.py" "$id" GET "${WPATH[$1]}" "" - "$(cat $f.code)" "$f.body" watch "$OUT"
  echo "$id GET ${WPATH[$1]} -> $(cat $f.code) (watch, $(wc -l < $f.body) lines)" >&2
}
rv() { jq -r '.metadata.resourceVersion' "$1"; }

if [ "${ONLY_WINDOW:-0}" != 1 ]; then
NODE1='{"apiVersion":"v1","kind":"Node","metadata":{"name":"golden-node-1","labels":{"zone":"a","role":"worker"}},"spec":{}}'
NODE2='{"apiVersion":"v1","kind":"Node","metadata":{"name":"golden-node-2","labels":{"zone":"b","role":"worker"}},"spec":{}}'
pod() { echo '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"'$1'","labels":{"app":"'$2'"}},"spec":{"nodeName":"'$3'","containers":[{"name":"c","image":"busybox","ports":[{"name":"http","containerPort":80}]}]}}'; }
NETPOL='{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"golden-deny-web"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],"ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"db"}}}],"ports":[{"protocol":"TCP","port":80}]}]}}'

# --- discovery
req discovery-api GET /api
req discovery-apis GET /apis
req discovery-api-v1 GET /api/v1 "" "" nodes,nodes/status,pods,pods/status,namespaces,namespaces/status
req discovery-networking-v1 GET /apis/networking.k8s.io/v1 "" "" networkpolicies
req version GET /version
# --- creates
req create-node-1 POST /api/v1/nodes "$NODE1"; NODE1_CREATE_RV=$(rv $LAST); cp $LAST "$RAW/node1-created.json"
req create-node-2 POST /api/v1/nodes "$NODE2"
req create-node-duplicate-409 POST /api/v1/nodes "$NODE1"
req create-pod-1 POST /api/v1/namespaces/default/pods "$(pod golden-pod-1 web golden-node-1)"
req create-pod-2 POST /api/v1/namespaces/default/pods "$(pod golden-pod-2 db golden-node-2)"
req create-pod-3 POST /api/v1/namespaces/default/pods "$(pod golden-pod-3 db golden-node-2)"
req create-pod-missing-namespace-404 POST /api/v1/namespaces/golden-missing/pods "$(pod golden-pod-x web golden-node-1)"
req create-networkpolicy POST /apis/networking.k8s.io/v1/namespaces/default/networkpolicies "$NETPOL"
req create-namespace POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"golden-ns","labels":{"team":"x"}}}'
# --- get
req get-node GET /api/v1/nodes/golden-node-1
req get-pod GET /api/v1/namespaces/default/pods/golden-pod-1
req get-networkpolicy GET /apis/networking.k8s.io/v1/namespaces/default/networkpolicies/golden-deny-web
req get-namespace GET /api/v1/namespaces/golden-ns
req get-node-missing-404 GET /api/v1/nodes/golden-missing
req get-pod-missing-404 GET /api/v1/namespaces/default/pods/golden-missing
# --- list
req list-pods-label-eq GET '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb'
req list-pods-label-set GET '/api/v1/namespaces/default/pods?labelSelector=app%20in%20(web,db)'
req list-pods-label-notexists GET '/api/v1/namespaces/default/pods?labelSelector=!app'
req list-pods-field-nodename GET '/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dgolden-node-2'
req list-pods-field-unsupported-400 GET '/api/v1/namespaces/default/pods?fieldSelector=spec.bogus%3Dx'
req list-nodes-label GET '/api/v1/nodes?labelSelector=role%3Dworker'
req list-nodes-field-name GET '/api/v1/nodes?fieldSelector=metadata.name%3Dgolden-node-2'
req list-pods-all-namespaces GET /api/v1/pods
req list-networkpolicies-all-namespaces GET /apis/networking.k8s.io/v1/networkpolicies
req list-pods-page-1 GET '/api/v1/namespaces/default/pods?limit=2'
CONT=$(jq -r '.metadata.continue' $LAST); LISTRV=$(rv $LAST)
req list-pods-page-2 GET "/api/v1/namespaces/default/pods?limit=2&continue=$CONT"
req list-pods-rv0-limit GET '/api/v1/namespaces/default/pods?limit=1&resourceVersion=0'
req list-pods GET /api/v1/namespaces/default/pods; PODSRV=$(rv $LAST)
# --- watches with bookmarks while things change
watch_start watch-pods-bookmarks "/api/v1/namespaces/default/pods?watch=1&allowWatchBookmarks=true&resourceVersion=$PODSRV&timeoutSeconds=8" 14
watch_start watch-pods-selector-web "/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dweb&resourceVersion=$PODSRV&timeoutSeconds=8" 14
sleep 1
req patch-pod-label-merge PATCH /api/v1/namespaces/default/pods/golden-pod-2 '{"metadata":{"labels":{"app":"web"}}}' application/merge-patch+json
req patch-pod-label-back PATCH /api/v1/namespaces/default/pods/golden-pod-2 '{"metadata":{"labels":{"app":"db"}}}' application/strategic-merge-patch+json
req delete-pod-3-graceful DELETE /api/v1/namespaces/default/pods/golden-pod-3
req delete-pod-3-now DELETE '/api/v1/namespaces/default/pods/golden-pod-3?gracePeriodSeconds=0'
req get-pod-3-after-delete-404 GET /api/v1/namespaces/default/pods/golden-pod-3
watch_end watch-pods-bookmarks
watch_end watch-pods-selector-web
req watch-from-rv0-short GET '/api/v1/nodes?watch=1&resourceVersion=0&timeoutSeconds=1'
# --- node status patches
COND='"conditions":[{"type":"NetworkUnavailable","status":"False","reason":"FlannelIsUp","message":"Flannel is running on this node","lastTransitionTime":"2021-01-01T00:00:00Z","lastHeartbeatTime":"2021-01-01T00:00:00Z"}]'
req patch-node-status-merge PATCH /api/v1/nodes/golden-node-1/status '{"metadata":{"annotations":{"flannel.alpha.coreos.com/backend-type":"vxlan"}},"status":{'"$COND"'}}' application/merge-patch+json
req patch-node-status-strategic PATCH /api/v1/nodes/golden-node-1/status '{"metadata":{"annotations":{"flannel.alpha.coreos.com/public-ip":"192.0.2.1"}},"status":{"conditions":[{"type":"Ready","status":"False","reason":"Golden","message":"m","lastTransitionTime":"2021-01-01T00:00:00Z","lastHeartbeatTime":"2021-01-01T00:00:00Z"}]}}' application/strategic-merge-patch+json
req patch-node-status-spec-ignored PATCH /api/v1/nodes/golden-node-1/status '{"spec":{"unschedulable":true}}' application/merge-patch+json
req patch-node-main-status-ignored PATCH /api/v1/nodes/golden-node-1 '{"status":{"capacity":{"cpu":"4"}}}' application/merge-patch+json
req patch-node-json-patch PATCH /api/v1/nodes/golden-node-1 '[{"op":"add","path":"/metadata/labels/jp","value":"yes"}]' application/json-patch+json
req patch-node-no-content-type-415 PATCH /api/v1/nodes/golden-node-1 '{"metadata":{"labels":{"x":"y"}}}' text/plain
# --- conflicts
STALE=$(jq -c '.metadata.labels.stale="yes"' "$RAW/node1-created.json")
req update-node-stale-rv-409 PUT /api/v1/nodes/golden-node-1 "$STALE"
req get-node-1-current GET /api/v1/nodes/golden-node-1
FRESH=$(jq -c '.metadata.labels.fresh="yes"' $LAST)
req update-node-current-rv PUT /api/v1/nodes/golden-node-1 "$FRESH"
req update-node-name-mismatch-400 PUT /api/v1/nodes/golden-node-2 "$FRESH"
# --- podCIDR
req patch-node-podcidr-set PATCH /api/v1/nodes/golden-node-2 '{"spec":{"podCIDR":"10.244.1.0/24","podCIDRs":["10.244.1.0/24"]}}' application/merge-patch+json
req patch-node-podcidr-change-422 PATCH /api/v1/nodes/golden-node-2 '{"spec":{"podCIDR":"10.244.2.0/24","podCIDRs":["10.244.2.0/24"]}}' application/merge-patch+json
req patch-node-podcidr-only-change-422 PATCH /api/v1/nodes/golden-node-2 '{"spec":{"podCIDR":"10.244.2.0/24"}}' application/merge-patch+json
# --- 415 / bad bodies
req create-node-text-plain-415 POST /api/v1/nodes "$NODE1" text/plain
req create-node-cbor-415 POST /api/v1/nodes "$NODE1" application/cbor
req create-node-yaml POST /api/v1/nodes 'apiVersion: v1
kind: Node
metadata:
  name: golden-node-yaml' application/yaml
req create-node-malformed-json-400 POST /api/v1/nodes '{"apiVersion":"v1","kind":' application/json
req create-pod-invalid-422 POST /api/v1/namespaces/default/pods '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"golden-bad"},"spec":{"containers":[]}}'
# --- compaction and 410
req list-nodes-page-1-before-compaction GET '/api/v1/nodes?limit=1'
OLDCONT=$(jq -r '.metadata.continue' $LAST); OLDRV=$(rv $LAST)
req create-pod-4 POST /api/v1/namespaces/default/pods "$(pod golden-pod-4 web golden-node-1)"
req delete-pod-4 DELETE '/api/v1/namespaces/default/pods/golden-pod-4?gracePeriodSeconds=0'
eval "$COMPACT" >&2
sleep 1
req list-nodes-continue-after-compaction-410 GET "/api/v1/nodes?limit=1&continue=$OLDCONT"
req list-nodes-compacted-rv-limit-410 GET "/api/v1/nodes?limit=1&resourceVersion=$OLDRV"
req watch-nodes-rv1-410 GET '/api/v1/nodes?watch=1&resourceVersion=1&timeoutSeconds=2'
req watch-nodes-compacted-rv GET "/api/v1/nodes?watch=1&resourceVersion=$OLDRV&timeoutSeconds=2"
# --- deletes
req delete-networkpolicy DELETE /apis/networking.k8s.io/v1/namespaces/default/networkpolicies/golden-deny-web
req delete-node-2 DELETE /api/v1/nodes/golden-node-2
req delete-node-missing-404 DELETE /api/v1/nodes/golden-node-2
fi
# --- a watch from before the watch cache's window (kube-apiserver keeps 100 events per
# resource by default, --default-watch-cache-size): 110 label patches of one node first.
[ "${ONLY_WINDOW:-0}" = 1 ] && N=69
req get-node-1-before-window GET /api/v1/nodes/golden-node-1; WINRV=$(rv $LAST)
for i in $(seq 1 110); do
  curlx -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' --data-binary '{"metadata":{"labels":{"counter":"'$i'"}}}' "$API/api/v1/nodes/golden-node-1"
done
req watch-nodes-before-window-410 GET "/api/v1/nodes?watch=1&resourceVersion=$WINRV&timeoutSeconds=2"
req list-nodes-before-window-rv-nolimit GET "/api/v1/nodes?resourceVersion=$WINRV"
echo "recorded $N exchanges into $OUT" >&2
