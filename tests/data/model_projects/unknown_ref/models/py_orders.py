def model(dew):
    return dew.ref('stg_orderz')
