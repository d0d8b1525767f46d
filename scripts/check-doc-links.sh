#!/usr/bin/env bash
# Checks that every link to a heading of docs/*.md (`docs/NAME.md#slug`, or `#slug` inside the
# file itself) names a heading that exists, with GitHub's slug rules: lowercase, punctuation
# other than `-` and `_` removed, spaces turned into `-`.
set -euo pipefail
cd "$(dirname "$0")/.."

slugs() {
  grep -E '^#{1,6} ' "$1" | sed -E 's/^#+ +//' | tr '[:upper:]' '[:lower:]' |
    sed -E 's/[^a-z0-9 _-]//g; s/ /-/g'
}

status=0
for doc in docs/*.md; do
  known=$(slugs "$doc")
  # GitHub numbers repeated headings (`-1`, `-2`): keep every slug unique instead.
  for dup in $(sort <<<"$known" | uniq -d); do
    echo "repeated heading: $doc#$dup" >&2
    status=1
  done
  # Links from anywhere in the repository to this document, and the document's own `(#slug)`.
  links=$( (grep -rohE --exclude-dir=.git --exclude-dir=target "$doc#[A-Za-z0-9_-]+" . || true) | sed 's/.*#//'
           grep -oE '\]\(#[A-Za-z0-9_-]+\)' "$doc" | sed -E 's/^\]\(#//; s/\)$//' || true)
  for link in $links; do
    if ! grep -qxF -- "$link" <<<"$known"; then
      echo "broken link: $doc#$link" >&2
      status=1
    fi
  done
done
exit $status
