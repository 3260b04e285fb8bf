import csv, sys, collections
for f in sys.argv[1:]:
    rows=[r for r in csv.reader(open(f)) if len(r)>10]
    if not rows: print(f, "no rows"); continue
    h=rows[0]; c={n:i for i,n in enumerate(h)}
    per=collections.OrderedDict()
    for r in rows[1:]:
        if r[c["Metric Name"]]=="Metric Name": continue
        per.setdefault((r[c["ID"]], r[c["Kernel Name"]][:40]),{})[r[c["Metric Name"]]]=r[c["Metric Value"]]
    print("==", f)
    for (i,n),m in per.items(): print(f"  {n:<40} {float(m['gpu__time_duration.sum'].replace(',',''))/1e3:8.1f} us grid {m.get('launch__grid_size')} regs {m.get('launch__registers_per_thread')}")
