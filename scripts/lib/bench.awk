# The squares benchmark report.  Usage: awk -f common.awk -f bench.awk memcpy.csv results.csv
# memcpy.csv: threads,n,bytes,median_s,... (scripts/bench_memcpy.c); results.csv: tvp's CSV.
FNR == 1 { file++; header(); next }
file == 1 {
    row()
    refs[num("threads")] = num("median_s")
    refgb[num("threads")] = num("gb_per_s")
    next
}
{
    row()
    k = get("backend") SUBSEP get("data") SUBSEP get("ipc") SUBSEP get("workers")
    if (!(k in cnt)) { order[++nkeys] = k; cnt[k] = 0; ver[k] = 1 }
    i = ++cnt[k]
    tot[k, i] = num("t_total")
    comp[k, i] = num("t_compute")
    move[k, i] = num("t_distribute") + num("t_collect")
    dist[k, i] = num("t_distribute")
    coll[k, i] = num("t_collect")
    moved[k] = num("bytes_moved")
    n = num("n")
    if (num("t_total") > 0 && n > 0)
        bpi = int(num("bytes_per_s") * num("t_total") / n + 0.5)
    if (num("verified") == 0) ver[k] = 0
    else if (num("verified") < 0 && ver[k] == 1) ver[k] = -1
}
function vnote(v) { return v == 1 ? "" : v == 0 ? "  NOT VERIFIED" : "  unchecked" }
function ms(s) { return sprintf("%.2f", 1e3 * s) }
function frac(ref, t) { return ref > 0 && t > 0 ? sprintf("%.2f", ref / t) : "-" }
END {
    bytes = n * bpi
    printf "squares, n = %d items, %d bytes per item (in + out): %.1f MB through memory per run\n\n", n, bpi, bytes / 1e6
    print "1. Reference: memcpy of n*8 bytes, src -> dst (read + write = 2*n*8 bytes), median"
    printf "   %-8s %12s %10s\n", "threads", "median_ms", "GB/s"
    for (w = 1; w <= 4096; w++)
        if (w in refs)
            printf "   %-8d %12s %10.2f\n", w, ms(refs[w]), refgb[w]
    print ""
    print "2. --data local --schedule static: compute-phase bandwidth (n*" bpi " bytes / median t_compute)"
    print "   as a fraction of memcpy with as many threads (target >= 0.90), and t_total likewise"
    printf "   %-7s %3s %13s %8s %9s %8s %11s %8s %9s\n", "backend", "W", "t_compute_ms", "GB/s",
        "fraction", "target", "t_total_ms", "GB/s", "fraction"
    for (j = 1; j <= nkeys; j++) {
        k = order[j]
        split(k, f, SUBSEP)
        if (f[2] != "local") continue
        c = median_of(comp, k, cnt[k]); t = median_of(tot, k, cnt[k])
        medtot[f[1], f[4]] = t
        fr = (f[4] in refs) ? frac(refs[f[4]], c) : "-"
        ft = (f[4] in refs) ? frac(refs[f[4]], t) : "-"
        target = fr == "-" ? "-" : (fr + 0 >= 0.9 ? "met" : "MISSED")
        gbc = c > 0 ? bytes / c / 1e9 : 0
        gbt = t > 0 ? bytes / t / 1e9 : 0
        printf("   %-7s %3d %13s %8.2f %9s %8s %11s %8.2f %9s%s\n", f[1], f[4], ms(c), gbc, fr,
            target, ms(t), gbt, ft, vnote(ver[k]))
    }
    print ""
    print "3. The cost of --data scatter (the parent holds all input and must end with all output)"
    printf "   %-7s %-5s %3s %14s %14s %17s %15s %9s %13s\n", "backend", "ipc", "W", "distribute_ms",
        "collect_ms", "dist+collect_ms", "t_total_ms", "vs_local", "moved_MB"
    for (j = 1; j <= nkeys; j++) {
        k = order[j]
        split(k, f, SUBSEP)
        if (f[2] != "scatter") continue
        t = median_of(tot, k, cnt[k])
        loc = ((f[1], f[4]) in medtot) ? medtot[f[1], f[4]] : 0
        vs = loc > 0 ? sprintf("%.2fx", t / loc) : "-"
        printf("   %-7s %-5s %3d %14s %14s %17s %15s %9s %13.1f%s\n", f[1], f[3], f[4],
            ms(median_of(dist, k, cnt[k])), ms(median_of(coll, k, cnt[k])),
            ms(median_of(move, k, cnt[k])), ms(t), vs, moved[k] / 1e6, vnote(ver[k]))
        if (f[1] == "posix") {
            pk[f[3], f[4]] = k
            if (!(f[4] in pw)) { pw[f[4]] = 1; porder[++np] = f[4] }
        }
    }
    print "   (vs_local = median scatter t_total / median local t_total, same backend and W)"
    print ""
    print "4. tvp-posix --data scatter: --ipc pipe against --ipc shm (medians, ms)"
    printf "   %3s | %10s %10s %10s | %10s %10s %10s | %9s\n", "W", "pipe dist", "collect", "total",
        "shm dist", "collect", "total", "pipe/shm"
    for (j = 1; j <= np; j++) {
        w = porder[j]
        line = sprintf("   %3d |", w)
        for (m = 1; m <= 2; m++) {
            ipc = m == 1 ? "pipe" : "shm"
            if ((ipc, w) in pk) {
                k = pk[ipc, w]
                tt[ipc] = median_of(tot, k, cnt[k])
                line = line sprintf(" %10s %10s %10s |", ms(median_of(dist, k, cnt[k])),
                    ms(median_of(coll, k, cnt[k])), ms(tt[ipc]))
            } else {
                tt[ipc] = 0
                line = line sprintf(" %10s %10s %10s |", "-", "-", "-")
            }
        }
        ratio = tt["shm"] > 0 && tt["pipe"] > 0 ? sprintf("%.2fx", tt["pipe"] / tt["shm"]) : "-"
        print line sprintf(" %9s", ratio)
    }
}
