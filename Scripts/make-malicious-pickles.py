#!/usr/bin/env python3
"""Writes the malicious pickles of kswap's "pickle stays data" tests to Tests/Fixtures/malicious-pickles/.

Each case is a state dict holding one real tensor ("weight", four floats) and one payload. The payloads
that run code would, if Python unpickled them (torch.load(weights_only=False), pickle.load), create a
file named pwned-<case> in the current directory: the tests run kswap where such a file would appear
and check that none does. Each case is written twice:

  <case>.pt   a torch.save-style zip (archive/data.pkl, archive/byteorder, archive/data/0), which
              kswap-pack must refuse with an error naming the global or opcode (README.md lists them)
  <case>.pkl  the same pickle bare, as the pre-1.6 format stores it: kswap-pack refuses it as a legacy
              checkpoint before reading it; the unit tests run the pickle reader on it directly

Cases about the archive rather than code (persistent ids pointing outside it, storages whose sizes
disagree with their files) and pickles that try to exhaust memory or time (a huge memo, millions of
values, nesting 100,000 deep, a structure that refers to its parts 4^20 times) are written as .pt
only, the large ones deflated (a few kB each).

    python3 Scripts/make-malicious-pickles.py           # write the fixtures (deterministic)
    python3 Scripts/make-malicious-pickles.py --verify  # also unpickle each with Python in a scratch
                                                        # folder and check that the marker appears

--verify runs the payloads (they only create empty marker files in a temporary folder). Standard
library only: torch is not needed (its globals are stubbed when verifying).
"""
import io, os, pathlib, pickle, struct, sys, tempfile, time, zipfile

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/Fixtures/malicious-pickles"


def text(s):  # SHORT_BINUNICODE or BINUNICODE
    data = s.encode()
    return (b"\x8c" + bytes([len(data)]) if len(data) < 256 else b"X" + struct.pack("<I", len(data))) + data


def glob(module, name):  # GLOBAL
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def stack_glob(module, name):  # STACK_GLOBAL
    return text(module) + text(name) + b"\x93"


def call(callee, *args):  # callee(*args) by REDUCE
    return callee + b"(" + b"".join(args) + b"tR"


def integer(n):
    return b"J" + struct.pack("<i", n) if n < 2**31 else b"\x8a\x08" + struct.pack("<q", n)


def tensor(key="0", numel=4, storage=b"ctorch\nFloatStorage\n"):
    """torch._utils._rebuild_tensor_v2 of a 1-d float tensor of `numel` elements on storage `key`."""
    persistent_id = b"(" + text("storage") + storage + text(key) + text("cpu") + integer(numel) + b"tQ"
    return call(
        glob("torch._utils", "_rebuild_tensor_v2"),
        persistent_id, integer(0), integer(numel) + b"\x85", integer(1) + b"\x85", b"\x89",
        call(glob("collections", "OrderedDict")),
    )


def state_dict(payload, weight=None):
    """{"weight": <tensor>, "evil": <payload>} in protocol 2."""
    return b"\x80\x02}(" + text("weight") + (weight or tensor()) + text("evil") + payload + b"u."


def shared_levels(levels):
    """From the value on the stack, t(k+1) = (tk, tk, tk, tk), `levels` times, through memo entries 1, 2..."""
    return b"".join(b"q" + bytes([k]) + b"0(" + (b"h" + bytes([k])) * 4 + b"t" for k in range(1, levels + 1))


def marker(case):
    return f"pwned-{case}"


# case: (pickle bytes, creates a marker when Python unpickles it, what kswap's error names)
CASES = {
    "os-system": (state_dict(call(glob("os", "system"), text("touch " + marker("os-system")))), True,
                  "GLOBAL os.system"),
    "stack-global-os-system": (
        b"\x80\x04}(" + text("weight") + tensor() + text("evil")
        + call(stack_glob("os", "system"), text("touch " + marker("stack-global-os-system"))) + b"u.",
        True, "STACK_GLOBAL os.system"),
    "posix-system": (state_dict(call(glob("posix", "system"), text("touch " + marker("posix-system")))), True,
                     "GLOBAL posix.system"),
    "builtins-eval": (
        state_dict(call(glob("builtins", "eval"), text(f"open('{marker('builtins-eval')}', 'w').close()"))), True,
        "GLOBAL builtins.eval"),
    "builtins-exec": (
        state_dict(call(glob("builtins", "exec"), text(f"open('{marker('builtins-exec')}', 'w').close()"))), True,
        "GLOBAL builtins.exec"),
    "subprocess-popen": (
        state_dict(call(glob("subprocess", "Popen"), b"]" + b"(" + text("touch") + text(marker("subprocess-popen")) + b"e")),
        True, "GLOBAL subprocess.Popen"),
    # getattr(__import__("os"), "system")("touch ..."): REDUCE on callables built by other calls.
    "reduce-getattr-chain": (
        state_dict(call(call(glob("builtins", "getattr"), call(glob("builtins", "__import__"), text("os")), text("system")),
                        text("touch " + marker("reduce-getattr-chain")))),
        True, "GLOBAL builtins.getattr"),
    # An OrderedDict (which kswap allows) given os.system as its __setstate__ by one BUILD, then
    # called through it by a second BUILD.
    "build-setstate": (
        state_dict(call(glob("collections", "OrderedDict")) + b"N}" + text("__setstate__") + glob("os", "system")
                   + b"s\x86b" + text("touch " + marker("build-setstate")) + b"b"),
        True, "GLOBAL os.system"),
    # INST names its class inline (protocol 0): os.system("touch ...").
    "inst": (state_dict(b"(" + text("touch " + marker("inst")) + b"ios\nsystem\n"), True, "opcode INST"),
    "obj": (state_dict(b"(" + glob("os", "system") + text("touch " + marker("obj")) + b"o"), True, "GLOBAL os.system"),
    # NEWOBJ of a name kswap allows only as a storage type, never as something to call.
    "newobj-storage": (state_dict(glob("torch", "FloatStorage") + b")\x81"), False, "NEWOBJ of torch.FloatStorage"),
    # REDUCE of the same: kswap calls nothing it does not interpret itself.
    "reduce-storage": (state_dict(call(glob("torch", "FloatStorage"), integer(4))), False,
                       "REDUCE of torch.FloatStorage"),
    # BUILD on a tensor (Tensor.__setstate__): only an OrderedDict's attributes may be built, and are ignored.
    "build-tensor": (state_dict(tensor() + b"}b"), False, "BUILD on a tensor"),
}

# Archive cases: (pickle, storage file contents, what kswap's error names); zip only.
ARCHIVE_CASES = {
    "persistent-id-parent": (state_dict(b"N", weight=tensor(key="../../../../etc/passwd")), None,
                             "names '../../../../etc/passwd', not a storage in the archive"),
    "persistent-id-absolute": (state_dict(b"N", weight=tensor(key="/etc/passwd")), None,
                               "names '/etc/passwd', not a storage in the archive"),
    "storage-larger-than-file": (state_dict(b"N", weight=tensor(numel=1000)), None,
                                 "storage 0 has 16 bytes, the pickle says 1000 elements of F32"),
    "storage-smaller-than-file": (state_dict(b"N", weight=tensor(numel=2)), b"\0" * 64,
                                  "storage 0 has 64 bytes, the pickle says 2 elements of F32"),
    "storage-petabytes": (state_dict(b"N", weight=tensor(numel=2**50)), None,
                          "storage 0 has 16 bytes, the pickle says 1125899906842624 elements of F32"),
    # 10 million memo entries, one MEMOIZE byte each.
    "memo-huge": (state_dict(b"N" + b"\x94" * 10_000_000), None, "memo entries"),
    # 10 million values pushed, one NONE byte each.
    "values-huge": (state_dict(b"N" * 10_000_000 + b"0" * 9_999_999), None, "values"),
    # Lists nested 100,000 deep: 100,000 empty lists, each appended into the one below it.
    "nesting-lists": (state_dict(b"]" * 100_000 + b"a" * 99_999), None, "nested deeper than 128 levels"),
    # Tuples nested 100,000 deep.
    "nesting-tuples": (state_dict(b"N" + b"\x85" * 100_000), None, "nested deeper than 128 levels"),
    # t0 = ("x",), t(k+1) = (tk, tk, tk, tk): 20 levels refer to "x" 4^20 times in 300 bytes.
    "shared-references": (state_dict(text("x") + b"\x85" + shared_levels(20)), None, "refers to its parts more often"),
    # The same with the tensor: it would be named (and copied) 4^20 times.
    "shared-tensor": (
        b"\x80\x02}(" + text("weight") + tensor() + b"q\x00" + text("evil") + b"h\x00\x85" + shared_levels(20) + b"u.",
        None, "names one tensor more than 16 times"),
}

WEIGHT = struct.pack("<4f", 1.0, -2.0, 0.5, 3.0)


def write_zip(path, data_pkl, storage=WEIGHT):
    method = zipfile.ZIP_DEFLATED if len(data_pkl) > 1 << 16 else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, content in [("archive/data.pkl", data_pkl), ("archive/byteorder", b"little"),
                              ("archive/data/0", storage), ("archive/version", b"3\n")]:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: the bytes are deterministic
            info.compress_type = method
            archive.writestr(info, content)


class Stubbed(pickle.Unpickler):
    """Python's unpickler with torch's globals stubbed (torch need not be installed) and storages as None."""

    def find_class(self, module, name):
        if module.startswith("torch"):
            return lambda *args, **kwargs: None
        return super().find_class(module, name)

    def persistent_load(self, pid):
        return None


def verify():
    """Unpickles every code case with Python in a scratch folder: each must leave its marker file."""
    failed = []
    for case, (data, creates_marker, _) in CASES.items():
        if not creates_marker:
            continue
        with tempfile.TemporaryDirectory() as scratch:
            cwd = os.getcwd()
            os.chdir(scratch)
            try:
                try:
                    Stubbed(io.BytesIO(data)).load()
                except Exception:
                    pass  # the payload has run by then, or never will
                for _ in range(50):  # subprocess.Popen creates its file asynchronously
                    if os.path.exists(marker(case)):
                        break
                    time.sleep(0.02)
                if not os.path.exists(marker(case)):
                    failed.append(case)
            finally:
                os.chdir(cwd)
    if failed:
        sys.exit(f"these payloads did not create their marker under Python: {', '.join(failed)}")
    print("verified: Python's unpickler runs every code payload")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.p*"):
        old.unlink()
    lines = []
    for case, (data, creates_marker, named) in CASES.items():
        write_zip(OUT / f"{case}.pt", data)
        (OUT / f"{case}.pkl").write_bytes(data)
        lines.append(f"{case}\t{'marker' if creates_marker else '-'}\t{named}")
    for case, (data, storage, named) in ARCHIVE_CASES.items():
        write_zip(OUT / f"{case}.pt", data, storage if storage is not None else b"\0" * 16)
        lines.append(f"{case}\t-\t{named}")
    (OUT / "cases.tsv").write_text("\n".join(lines) + "\n")
    print("wrote", len(CASES) * 2 + len(ARCHIVE_CASES), "files and cases.tsv to", OUT)
    if "--verify" in sys.argv:
        verify()


main()
