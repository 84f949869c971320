from stockpile.reconcile.samples import write_samples

for p in write_samples():
    print(p)
