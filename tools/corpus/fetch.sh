#!/usr/bin/env bash
# Collects real-world test mail from Debian packages into DIR/mail, as extra seeds for
# tools/fuzz.sh (fuzz-convert): enmime's test messages (Go), CPython's email test
# messages and flufl.bounce's bounce samples. Usage: tools/corpus/fetch.sh DIR
# The packages are only unpacked (DIR/pkgs), never installed. A second run reuses DIR.
set -euo pipefail

dir=${1:?usage: tools/corpus/fetch.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
done_marker="$dir/mail.done" # written last: a cut-short run starts over

if [ -f "$done_marker" ] && [ -d "$dir/mail" ]; then
  echo "corpus: $(find "$dir/mail" -type f | wc -l) messages in $dir/mail (cached)"
  exit 0
fi

packages=(golang-github-jhillyerd-enmime-dev libpython3.11-testsuite python3-flufl.bounce)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt downloads as its own user where it can write the folder (else it warns).
if id _apt >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then chown _apt "$tmp"; fi
if ! (cd "$tmp" && apt-get download -q "${packages[@]}" >/dev/null); then
  # Package lists missing or out of date (a fresh machine): read them once.
  apt-get update -q >/dev/null
  (cd "$tmp" && apt-get download -q "${packages[@]}" >/dev/null)
fi

rm -rf "$dir/pkgs" "$dir/mail"
mkdir -p "$dir/pkgs" "$dir/mail"
for p in "${packages[@]}"; do
  dpkg -x "$tmp/${p}"_*.deb "$dir/pkgs/$p"
done

# copy PREFIX FILE...: into DIR/mail as PREFIX-<name>, names kept apart by source.
copy() {
  local prefix=$1
  shift
  for f in "$@"; do cp "$f" "$dir/mail/$prefix-$(basename "$f")"; done
}
enmime=$dir/pkgs/golang-github-jhillyerd-enmime-dev/usr/share/gocode/src/github.com/jhillyerd/enmime/testdata
for sub in "$enmime"/*/; do
  mapfile -t files < <(find "$sub" -maxdepth 1 -type f \( -name '*.raw' -o -name '*.eml' \))
  if [ ${#files[@]} -gt 0 ]; then copy "enmime-$(basename "$sub")" "${files[@]}"; fi
done
copy python "$dir"/pkgs/libpython3.11-testsuite/usr/lib/python3.11/test/test_email/data/msg_*.txt
flufl=$dir/pkgs/python3-flufl.bounce/usr/lib/python3/dist-packages/flufl/bounce/tests/data
mapfile -t files < <(find "$flufl" -maxdepth 1 -type f \( -name '*.txt' -o -name '*.eml' \))
copy flufl "${files[@]}"

count=$(find "$dir/mail" -type f | wc -l)
if [ "$count" -eq 0 ]; then
  echo "corpus: no messages found in the packages (paths changed?)" >&2
  exit 1
fi
echo "$count" >"$done_marker"
echo "corpus: $count messages in $dir/mail"
