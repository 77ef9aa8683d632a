def model(dew):
    dew.config(materialized="incremental", unique_key="id")
    events = dew.ref("events")
    if dew.is_incremental:
        seen = dew.read_this()
        events = events[events["updated"] > seen["updated"].max() - 5]
    return events
