# Sourced by the benchmark scripts: write_section NAME TITLE TEXT puts TEXT between the
# markers <!-- NAME:begin --> and <!-- NAME:end --> of docs/benchmarks.md, replacing
# what a previous run wrote there, or appends it under "## TITLE".
write_section() {
  local name=$1 title=$2 text=$3 doc=docs/benchmarks.md
  local section="<!-- $name:begin -->
$text
<!-- $name:end -->"
  [ -f "$doc" ] || printf '# Benchmarks\n' > "$doc"
  if grep -q "$name:begin" "$doc"; then
    awk -v s="$section" -v b="$name:begin" -v e="$name:end" \
      'BEGIN {p = 1} index($0, b) {print s; p = 0} p {print} index($0, e) {p = 1}' \
      "$doc" > "$doc.new" && mv "$doc.new" "$doc"
  else
    printf '\n## %s\n\n%s\n' "$title" "$section" >> "$doc"
  fi
  echo "written to $doc"
}
