# The compare table: one line per backend x data x ipc x workers, from a tvp CSV.
# Usage: awk -f common.awk -f table.awk results.csv
FNR == 1 { header(); next }
{
    row()
    k = get("backend") SUBSEP get("data") SUBSEP get("schedule") SUBSEP get("ipc") SUBSEP get("workers")
    if (!(k in cnt)) { order[++nkeys] = k; cnt[k] = 0; ver[k] = 1 }
    i = ++cnt[k]
    tot[k, i] = num("t_total")
    comp[k, i] = num("t_compute")
    n[k] = num("n")
    # bytes per item from the record itself: bytes_per_s = n*(in+out)/t_total
    if (num("t_total") > 0 && num("n") > 0)
        bpi[k] = int(num("bytes_per_s") * num("t_total") / num("n") + 0.5)
    v = num("verified")
    if (v == 0) ver[k] = 0
    else if (v < 0 && ver[k] != 0) ver[k] = -1
}
END {
    for (j = 1; j <= nkeys; j++) {
        k = order[j]
        split(k, f, SUBSEP)
        med[k] = median_of(tot, k, cnt[k])
        if (f[1] == "serial" && f[5] == 1) serial[f[2], f[3]] = med[k]
    }
    printf "%-7s %-8s %-5s %3s %11s %19s %13s %8s %8s %9s\n", "backend", "data", "ipc", "W",
        "t_total_ms", "min-max_ms", "t_compute_ms", "speedup", "GB/s", "verified"
    for (j = 1; j <= nkeys; j++) {
        k = order[j]
        split(k, f, SUBSEP)
        c = median_of(comp, k, cnt[k])
        s = ((f[2], f[3]) in serial) && med[k] > 0 ? sprintf("%.2fx", serial[f[2], f[3]] / med[k]) : "-"
        gb = c > 0 && bpi[k] > 0 ? sprintf("%.2f", n[k] * bpi[k] / c / 1e9) : "-"
        printf "%-7s %-8s %-5s %3d %11.2f %19s %13.2f %8s %8s %9s\n", f[1], f[2], f[4], f[5],
            1e3 * med[k],
            sprintf("%.2f-%.2f", 1e3 * min_of(tot, k, cnt[k]), 1e3 * max_of(tot, k, cnt[k])),
            1e3 * c, s, gb, ver[k] == 1 ? "yes" : ver[k] == 0 ? "NO" : "-"
    }
    printf "\nmedians over %s; speedup = median serial t_total / median t_total (same data mode);\n", "each configuration's timed runs"
    printf "GB/s = n x bytes per item (in + out) / median t_compute.\n"
}
