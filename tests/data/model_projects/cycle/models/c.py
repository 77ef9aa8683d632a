def model(dew):
    return dew.ref('a')
