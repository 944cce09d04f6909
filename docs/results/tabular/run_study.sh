#!/usr/bin/env bash
# The Tab-PET study (docs/experiments-tabular.md): FT-Transformer-style model on scikit-learn tables,
# no encoding vs Tab-PET (Spearman / Pearson / Chow-Liu graphs, alpha in a small grid), 5 seeds each.
# Usage: docs/results/tabular/run_study.sh OUT_DIR   (then summarise.py OUT_DIR)
# Environment: POSENC (the binary), DATASETS, ALPHAS, EPOCHS, CATEGORICAL (diabetes's `sex` as a category: true)
set -euo pipefail
out=${1:?output directory}
posenc=${POSENC:-build/tools/posenc}
common=(--seeds 5 --epochs "${EPOCHS:-20}" --layers 2 --d-model 32 --heads 4 --dropout 0.1 --batch 32
        --lr 1e-3 --weight-decay 1e-5 --eval-every 0 --threads 1 --force)
mkdir -p "$out"
for data in ${DATASETS:-wine breast_cancer diabetes}; do
  # diabetes: `sex` as a number (as the earlier study); CATEGORICAL=true gives it its own embedding table
  extra=(); [ "$data" = diabetes ] && extra=(--table-categorical "${CATEGORICAL:-false}")
  mkdir -p "$out/$data"
  nice "$posenc" compare --task "table_$data" --encodings none "${common[@]}" "${extra[@]}" --out "$out/$data/none" > "$out/$data.none.log"
  for graph in spearman pearson chow_liu; do
    for alpha in ${ALPHAS:-0.1 1 10}; do
      nice "$posenc" compare --task "table_$data" --encodings tabpet --tabpet-graph "$graph" --tabpet-alpha "$alpha" \
        "${common[@]}" "${extra[@]}" --out "$out/$data/${graph}_a$alpha" > "$out/$data.${graph}_a$alpha.log"
    done
  done
done
