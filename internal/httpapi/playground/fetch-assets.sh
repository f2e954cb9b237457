#!/usr/bin/env bash
# Vendors the playground's browser assets (GraphiQL, React, ReactDOM) into
# internal/httpapi/playground/assets, where go:embed picks them up: the playground then works with no
# network (air-gapped hosts, corporate proxies, a strict Content-Security-Policy).
#
# Each package is pinned below by version and by the npm registry's sha512 integrity of its
# tarball; a tarball that does not match is rejected. Only the files the page loads are kept,
# byte for byte, with each package's LICENSE, plus SOURCES (where they came from) and
# SHA256SUMS (what the Go test checks the embedded files against).
#
# Re-runnable: it rebuilds the directory from scratch. To upgrade, change a pin (take the
# integrity from `npm view PACKAGE@VERSION dist.integrity`), run this, then `go test ./internal/httpapi/`.
#
# Needs bash, curl, tar and coreutils (sha512sum, sha256sum, base64, od).
set -euo pipefail

# package  version  integrity (sha512 of the tarball)  files to keep (tarball path:name here)
PINS=(
  "graphiql 4.1.2 sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg== package/graphiql.min.js:graphiql.min.js package/graphiql.min.css:graphiql.min.css package/LICENSE:graphiql.LICENSE"
  "react 18.3.1 sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ== package/umd/react.production.min.js:react.production.min.js package/LICENSE:react.LICENSE"
  "react-dom 18.3.1 sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw== package/umd/react-dom.production.min.js:react-dom.production.min.js package/LICENSE:react-dom.LICENSE"
)
REGISTRY=${NPM_REGISTRY:-https://registry.npmjs.org}

root=$(cd "$(dirname "$0")/../../.." && pwd)
dest=$root/internal/httpapi/playground/assets
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Build into a scratch directory and swap it in at the end, so a failed run leaves the
# committed assets untouched.
out=$work/assets
mkdir -p "$out"
{
  echo "Vendored by internal/httpapi/playground/fetch-assets.sh; do not edit by hand."
  echo
} >"$out/SOURCES"

for pin in "${PINS[@]}"; do
  read -r name version integrity files <<<"$pin"
  url="$REGISTRY/$name/-/$name-$version.tgz"
  tgz="$work/$name-$version.tgz"
  echo "fetching $name@$version" >&2
  curl -fsSL --retry 3 -o "$tgz" "$url"

  want=$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  got=$(sha512sum "$tgz" | cut -d' ' -f1)
  if [[ "$got" != "$want" ]]; then
    echo "$name@$version: tarball sha512 $got does not match the pinned integrity $integrity" >&2
    exit 1
  fi

  mkdir -p "$work/$name"
  tar -xzf "$tgz" -C "$work/$name"
  for f in $files; do
    src=${f%%:*}
    cp "$work/$name/$src" "$out/${f#*:}"
  done
  printf '%s@%s\n  tarball:   %s\n  integrity: %s\n  files:     %s\n\n' "$name" "$version" "$url" "$integrity" "$files" >>"$out/SOURCES"
done

(cd "$out" && LC_ALL=C sha256sum -- $(LC_ALL=C ls | grep -vx SHA256SUMS) >SHA256SUMS)
rm -rf "$dest"
mv "$out" "$dest"
echo "wrote $(ls "$dest" | wc -l) files to ${dest#"$root"/}" >&2
