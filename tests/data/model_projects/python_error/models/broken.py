def model(dew):
    rows = {"a": [1, 2]}
    raise ValueError("no rows for %s" % dew.this)
