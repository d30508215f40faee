#!/usr/bin/env bash
# Lay out the training data of the leave-one-family-out recipes under data/ (git-ignored):
#   data/shared   -> ../shared/data (a link)
#   data/imagen   the dcsan/imagen renders, staged from a local copy (scripts/stage_imagen.py)
#   data/reals    links to the 1,189 shared ImageNet and face reals (what the zoo fakes are made of)
#   data/zoo/G    `spotfake synth make -g G --counterparts` of data/reals, for each G given
#   data/hard     `spotfake synth hard-reals` of 500 of data/reals (seven operations), with --hard
# Usage: scripts/prepare_data.sh [--imagen SRC] [--zoo G1,G2,...] [--limit N] [--threads N] [--hard]
# Steps already done are skipped, so it can be run again to add generators.
set -euo pipefail
cd "$(dirname "$0")/.."
imagen="" zoo="" limit="" threads=1 hard=""
while [ $# -gt 0 ]; do
  case "$1" in
    --imagen) imagen=$2; shift 2 ;;
    --zoo) zoo=$2; shift 2 ;;
    --limit) limit="--limit $2"; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --hard) hard=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
shared=$(cd .. && pwd)/shared/data
[ -d "$shared" ] || { echo "$shared not found: put ../shared beside the repository" >&2; exit 2; }
mkdir -p data/zoo data/reals
[ -e data/shared ] || ln -s "$shared" data/shared
for f in "$shared"/imagenet-real/* "$shared"/faces-hard/real/*; do
  [ -e "data/reals/$(basename "$f")" ] || ln -s "$f" "data/reals/$(basename "$f")"
done
if [ -n "$imagen" ] && [ ! -f data/imagen/SOURCE.md ]; then
  .venv/bin/python scripts/stage_imagen.py "$imagen" -o data/imagen
fi
for g in ${zoo//,/ }; do
  if grep -qs '"complete"' "data/zoo/$g/synth.json"; then continue; fi
  # exit status 1 only lists reals that could not be written (a 4:4:0 JPEG): keep going
  .venv/bin/spotfake synth make -g "$g" --data data/reals -o "data/zoo/$g" --counterparts \
    --threads "$threads" --overwrite -q $limit || [ $? -eq 1 ]
done
if [ -n "$hard" ] && ! grep -qs '"complete"' data/hard/hard_reals.json; then
  # exit status 1 only lists reals that could not be written: keep going
  .venv/bin/spotfake synth hard-reals --data data/reals -o data/hard --limit 500 \
    --ops up2,down2,updown2,updown4,blur,sharpen,median3 --overwrite -q \
    || [ $? -eq 1 ]
fi
echo "data/ ready: $(ls data/zoo | wc -l) zoo generators; imagen: $([ -d data/imagen ] && echo staged || echo absent); hard reals: $([ -d data/hard ] && echo made || echo absent)"
