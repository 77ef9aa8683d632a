// The Python side of a Python model's run: dew writes this module to the run's temporary folder
// and starts `python3 -B dew_runner.py request.json` with the project as working directory.
// It reads the inputs in the column exchange format (column_exchange.h), calls the model file's
// model(dew), and writes the returned DataFrame back in the same format — or error.json with
// the exception, the model file's line and the traceback.
#include "transform/python_model.h"

namespace dew::transform {

const char* PythonRunnerScript() {
  return R"PY(
import datetime
import decimal
import importlib.util
import json
import os
import sys
import traceback

ALIGN = 64


def fail(out_dir, kind, message, line=None, tb=""):
    with open(os.path.join(out_dir, "error.json"), "w", encoding="utf-8") as f:
        json.dump({"kind": kind, "message": message, "line": line, "traceback": tb}, f)
    sys.exit(3)


def read_columns(prefix):
    import numpy as np
    import pandas as pd
    with open(prefix + ".json", encoding="utf-8") as f:
        schema = json.load(f)
    n = schema["rows"]
    path = prefix + ".bin"
    raw = np.memmap(path, dtype=np.uint8, mode="r") if os.path.getsize(path) else np.zeros(0, np.uint8)

    def array(where, dtype):
        off, length = where
        return raw[off:off + length].view(dtype)

    data = {}
    tz_columns = []
    for c in schema["columns"]:
        t = c["type"]
        valid = array(c["valid"], np.bool_) if c.get("valid") else None
        if t == "VARCHAR":
            buf = array(c["data"], np.uint8).tobytes()
            offs = array(c["offsets"], "<i8").tolist()
            try:
                text = buf.decode("ascii")
                values = [text[a:b] for a, b in zip(offs, offs[1:])]
            except UnicodeDecodeError:
                values = [buf[a:b].decode("utf-8") for a, b in zip(offs, offs[1:])]
            if valid is not None:
                for i in np.flatnonzero(~valid).tolist():
                    values[i] = None
            col = pd.array(values, dtype=object)
        else:
            values = np.array(array(c["data"], c["dtype"]))
            if t == "DATE":
                values = values.astype("datetime64[D]")
            elif t in ("TIMESTAMP", "TIMESTAMPTZ"):
                values = values.view("datetime64[us]")
            if valid is None:
                col = values
            elif t == "BOOLEAN":
                col = pd.arrays.BooleanArray(values, ~valid)
            elif values.dtype.kind in "iu":
                col = pd.arrays.IntegerArray(values, ~valid)
            elif values.dtype.kind == "f":
                col = values.copy()
                col[~valid] = np.nan
            else:
                col = values.copy()
                col[~valid] = np.datetime64("NaT")
            if t == "TIMESTAMPTZ":
                tz_columns.append(c["name"])
        data[c["name"]] = col
    df = pd.DataFrame(data, index=pd.RangeIndex(n))
    for name in tz_columns:
        df[name] = df[name].dt.tz_localize("UTC")
    return df


def object_kind(values):
    """The exchange type of an object column from its non-null values."""
    kinds = set()
    for v in values:
        if isinstance(v, (bool,)) or type(v).__name__ == "bool_":
            kinds.add("bool")
        elif isinstance(v, int) or type(v).__name__.startswith("int"):
            kinds.add("int")
        elif isinstance(v, (float, decimal.Decimal)) or type(v).__name__.startswith("float"):
            kinds.add("float")
        elif isinstance(v, datetime.datetime):
            kinds.add("timestamp")
        elif isinstance(v, datetime.date):
            kinds.add("date")
        elif isinstance(v, str):
            kinds.add("str")
        else:
            kinds.add("other")
        if len(kinds) > 1 and kinds != {"int", "float"}:
            return "str"
    if kinds == {"int", "float"}:
        return "float"
    return kinds.pop() if kinds else "str"


def encode(series):
    """(type, dtype, values array or bytes, offsets or None, valid or None) of one column."""
    import numpy as np
    import pandas as pd
    isna = series.isna().to_numpy()
    valid = ~isna if isna.any() else None
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return encode(series.astype(object))
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return ("TIMESTAMPTZ",) + encode(utc)[1:]
    kind = getattr(dtype, "kind", "O")
    if kind == "b":
        return "BOOLEAN", "|b1", series.to_numpy(dtype=np.bool_, na_value=False), None, valid
    if kind in "iu":
        np_dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
        names = {("i", 1): "TINYINT", ("i", 2): "SMALLINT", ("i", 4): "INTEGER", ("i", 8): "BIGINT",
                 ("u", 1): "UTINYINT", ("u", 2): "USMALLINT", ("u", 4): "UINTEGER",
                 ("u", 8): "UBIGINT"}
        values = series.to_numpy(dtype=np_dtype, na_value=0)
        return names[(np_dtype.kind, np_dtype.itemsize)], np_dtype.newbyteorder("<").str, values, None, valid
    if kind == "f":
        np_dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
        if np_dtype.itemsize == 4:
            return "FLOAT", "<f4", series.to_numpy(dtype=np.float32, na_value=np.nan), None, valid
        return "DOUBLE", "<f8", series.to_numpy(dtype=np.float64, na_value=np.nan), None, valid
    if kind == "M":
        values = series.to_numpy().astype("datetime64[us]").view("<i8")
        return "TIMESTAMP", "<i8", values, None, valid
    objects = series.to_numpy(dtype=object)
    present = objects[~isna] if valid is not None else objects
    # pandas' C type inference settles the common all-str column without a Python loop.
    k = "str" if pd.api.types.infer_dtype(present, skipna=False) == "string" else object_kind(present)
    if k == "bool":
        return "BOOLEAN", "|b1", np.array([bool(v) if ok else False for v, ok in zip(objects, ~isna)]), None, valid
    if k == "int":
        return "BIGINT", "<i8", np.array([int(v) if ok else 0 for v, ok in zip(objects, ~isna)], dtype=np.int64), None, valid
    if k == "float":
        return "DOUBLE", "<f8", np.array([float(v) if ok else 0.0 for v, ok in zip(objects, ~isna)], dtype=np.float64), None, valid
    if k == "date":
        epoch = datetime.date(1970, 1, 1).toordinal()
        return "DATE", "<i4", np.array([v.toordinal() - epoch if ok else 0 for v, ok in zip(objects, ~isna)], dtype=np.int32), None, valid
    if k == "timestamp":
        return encode(pd.Series(pd.to_datetime(objects, utc=any(
            getattr(v, "tzinfo", None) is not None for v in present))))[0:3] + (None, valid)
    if k == "str":
        # One join and one encode in C; when every character is ASCII, the byte lengths are the
        # str lengths, so no per-value bytes object is made.
        strs = objects.copy() if valid is not None else objects
        if valid is not None:
            strs[isna] = ""
        joined = "".join(strs)
        data = joined.encode("utf-8")
        if len(data) == len(joined):
            lengths = np.fromiter(map(len, strs), dtype=np.int64, count=len(strs))
            offsets = np.zeros(len(strs) + 1, dtype="<i8")
            np.cumsum(lengths, out=offsets[1:])
            return "VARCHAR", "|u1", data, offsets, valid
    texts = [(v if isinstance(v, str) else str(v)).encode("utf-8") if ok else b""
             for v, ok in zip(objects, ~isna)]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype="<i8")
    np.cumsum(lengths, out=offsets[1:])
    return "VARCHAR", "|u1", b"".join(texts), offsets, valid


def write_columns(df, prefix):
    import numpy as np
    columns = []
    with open(prefix + ".bin", "wb") as out:
        pos = 0

        def put(data):
            nonlocal pos
            # A buffer view, not a copy, of numpy's memory.
            b = data if isinstance(data, bytes) else memoryview(np.ascontiguousarray(data)).cast("B")
            where = [pos, len(b)]
            out.write(b)
            pad = (ALIGN - len(b) % ALIGN) % ALIGN
            out.write(b"\0" * pad)
            pos += len(b) + pad
            return where

        names = [str(c) for c in df.columns]
        for i, name in enumerate(names):
            if names.index(name) != i:
                raise ValueError("the DataFrame has two columns named %r" % name)
            t, dtype, values, offsets, valid = encode(df.iloc[:, i])
            col = {"name": name, "type": t, "dtype": dtype, "valid": None}
            col["data"] = put(values if isinstance(values, bytes) else np.asarray(values).astype(dtype, copy=False))
            if offsets is not None:
                col["offsets"] = put(offsets)
            if valid is not None:
                col["valid"] = put(valid.astype(np.uint8))
            columns.append(col)
    with open(prefix + ".json", "w", encoding="utf-8") as f:
        json.dump({"format": "dew-columns/1", "rows": len(df), "columns": columns}, f)


class Dew:
    """What model(dew) receives: dbt's `dbt` object for Python models, adapted."""

    def __init__(self, request):
        self._request = request
        self.this = request["this"]
        self.is_incremental = request["is_incremental"]
        self._config = request["config"]

    def _input(self, key, what):
        folder = self._request["inputs"].get(key)
        if folder is None:
            raise KeyError("%s is not an input of this model: dew finds inputs by reading the "
                           "file for literal calls like dew.ref('name')" % what)
        return read_columns(os.path.join(self._request["dir"], folder))

    def ref(self, *names):
        return self._input("ref:" + names[-1], "ref(%r)" % names[-1])

    def source(self, source_name, table_name):
        key = "source:%s.%s" % (source_name, table_name)
        return self._input(key, "source(%r, %r)" % (source_name, table_name))

    def read_this(self):
        """The model's current table (incremental models), or None when it does not exist."""
        if "this" not in self._request["inputs"]:
            return None
        return self._input("this", "this")

    def var(self, name, default=None):
        vars_ = self._request["vars"]
        if name in vars_:
            return vars_[name]
        if default is not None:
            return default
        raise KeyError("var %r is not set: add it to vars: in dew.yml, pass --vars, or give a "
                       "default: dew.var(%r, ...)" % (name, name))

    def config(self, **kwargs):
        """Read by dew from the file before the run; a no-op here."""
        return None


def model_line(tb, path):
    line = None
    for frame in traceback.extract_tb(tb):
        if os.path.abspath(frame.filename) == path:
            line = frame.lineno
    return line


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    out_dir = request["dir"]
    path = os.path.abspath(request["path"])
    try:
        import numpy  # noqa: F401
        import pandas as pd
    except ImportError as e:
        fail(out_dir, "setup", "%s for %s (on Debian: apt-get install python3-pandas)" % (e, sys.executable))
    dew = Dew(request)
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
        code = compile(source, path, "exec")
        module = {"__name__": "dew_model_" + request["model"], "__file__": path}
        exec(code, module)
    except SyntaxError as e:
        fail(out_dir, "syntax", "%s: %s" % (type(e).__name__, e.msg), e.lineno)
    except BaseException as e:
        fail(out_dir, "exception", "%s: %s" % (type(e).__name__, e), model_line(e.__traceback__, path),
             traceback.format_exc())
    fn = module.get("model")
    if not callable(fn):
        fail(out_dir, "no_model", "defines no function model(dew)")
    try:
        result = fn(dew)
    except BaseException as e:
        fail(out_dir, "exception", "%s: %s" % (type(e).__name__, e), model_line(e.__traceback__, path),
             traceback.format_exc())
    if not isinstance(result, pd.DataFrame):
        kind = type(result)
        name = kind.__qualname__ if kind.__module__ == "builtins" else kind.__module__ + "." + kind.__qualname__
        fail(out_dir, "return_type", "model() returned %s, expected a pandas DataFrame" % name)
    if len(result.columns) == 0:
        fail(out_dir, "return_type", "model() returned a DataFrame without columns")
    try:
        write_columns(result, os.path.join(out_dir, "output"))
    except BaseException as e:
        fail(out_dir, "output", "the returned DataFrame cannot be written: %s: %s" % (type(e).__name__, e),
             None, traceback.format_exc())


if __name__ == "__main__":
    main()
)PY";
}

}  // namespace dew::transform
