#!/usr/bin/env bash
# differential.sh CORPUS_FIELDS CORPUS_DIR COMPARE_PY: what exconnect makes of every
# corpus message against Python's email package; the report is CORPUS_DIR/report.md.
set -euo pipefail
fields_bin=$1 corpus=$2 compare=$3
"$fields_bin" "$corpus/mail" >"$corpus/exconnect.jsonl"
python3 "$compare" "$corpus/mail" "$corpus/exconnect.jsonl" "$corpus/report.md"
